"""The Compose stack (compose/docker-compose.yml): its .env, and driving ``docker compose``."""
