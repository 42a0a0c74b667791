import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** A project, owned by one user; only its owner (and an admin, in the listing) ever sees it. */
// The decorators mirror the migration, so that `migration:generate` finds no difference.
@Entity({ name: 'projects' })
@Index('IDX_projects_owner_created_at', ['ownerId', 'createdAt'])
export class Project {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** users.id; the projects go with the user. Named by string: Projects does not depend on Users. */
  @ForeignKey('User', { name: 'FK_projects_owner', onDelete: 'CASCADE' })
  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 1000, nullable: true })
  description: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
