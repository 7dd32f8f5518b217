"""Alembic environment. The agent server passes its open connection in
`config.attributes["connection"]` (see app/storage.py:migrate); the alembic CLI
falls back to DATABASE_URL."""

from alembic import context

from app.storage import make_engine, metadata, sqlalchemy_url

config = context.config
target_metadata = metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    from app.settings import load_settings

    engine = make_engine(sqlalchemy_url(load_settings().database_url))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
