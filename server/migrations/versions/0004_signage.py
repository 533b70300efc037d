"""wall displays: the media playlist (images, short videos; files kept in [media] directory) and notices

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 21:11:32.059564
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import server.persistence.tables

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('media_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('branch_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('stored_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('original_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('video_length_s', sa.Float(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', server.persistence.tables.UTCDateTime(), nullable=False),
    sa.Column('updated_at', server.persistence.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('stored_name')
    )
    with op.batch_alter_table('media_item', schema=None) as batch_op:
        batch_op.create_index('ix_media_item_branch_position', ['branch_code', 'position'], unique=False)

    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('branch_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('text_zh', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('text_en', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', server.persistence.tables.UTCDateTime(), nullable=False),
    sa.Column('updated_at', server.persistence.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index('ix_notice_branch_position', ['branch_code', 'position'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index('ix_notice_branch_position')

    op.drop_table('notice')
    with op.batch_alter_table('media_item', schema=None) as batch_op:
        batch_op.drop_index('ix_media_item_branch_position')

    op.drop_table('media_item')
