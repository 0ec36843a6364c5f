"""experience bookings status index

The partners' deadline job looks for pending bookings (few among many) every few minutes.

Revision ID: 293390bf079a
Revises: ab4852256653
Create Date: 2026-11-23 06:26:19.225591

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '293390bf079a'
down_revision = 'ab4852256653'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('experience_bookings', schema=None) as batch_op:
        batch_op.create_index('ix_experience_bookings_status_starts_at', ['status', 'starts_at'], unique=False)


def downgrade():
    with op.batch_alter_table('experience_bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_experience_bookings_status_starts_at')
