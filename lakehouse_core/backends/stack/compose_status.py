"""The Compose stack's part of the stack's ServiceStatusProvider: its services' rows, ``up`` and logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from lakehouse_core.compose.env import EXAMPLE_NAME, ensure_env
from lakehouse_core.compose.project import ComposeProject
from lakehouse_core.errors import LakehouseError
from lakehouse_core.models import ComposeServiceState
from lakehouse_core.ports import NULL_PROGRESS, CancelToken, ProgressSink
from lakehouse_core.settings import LakehouseSettings

logger = logging.getLogger(__name__)


class ComposeStack:
    """Mixed into StackServiceStatusProvider: ``compose`` is None when Docker is disabled."""

    settings: LakehouseSettings
    compose: ComposeProject | None

    def _compose(self) -> ComposeProject:
        if self.compose is None:
            raise LakehouseError("no Compose stack: Docker is disabled (settings.docker.enabled = false)")
        return self.compose

    def compose_services(self) -> list[ComposeServiceState]:
        """Every service of the Compose file with its container's state, health, ports, blocked by."""
        return self._compose().states()

    def stack_up(self, progress: ProgressSink = NULL_PROGRESS, cancel: CancelToken | None = None) -> None:
        """``docker compose up -d --build --wait``: writes the stack's .env first when it has an example."""
        compose = self._compose()
        docker = self.settings.docker
        if (
            compose.files[0] == docker.compose_file
            and docker.env_file is None
            and (docker.compose_dir / EXAMPLE_NAME).is_file()
        ):
            ensure_env(docker.compose_dir)
        compose.up(progress=progress, cancel=cancel)

    def follow_logs(self, service: str, cancel: CancelToken, lines: int = 100) -> Iterator[str]:
        """A Compose service's log, followed until ``cancel``."""
        return self._compose().logs(service, follow=True, tail=lines, cancel=cancel)

    def _compose_service(self, service: str) -> bool:
        """``service`` is a service of the Compose file (and the file can be read)."""
        if self.compose is None:
            return False
        try:
            return service in self.compose.services()
        except LakehouseError as exc:
            logger.info("compose services not readable: %s", exc)
            return False

