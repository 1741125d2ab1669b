"""The ECS task metadata endpoint v4, as a Fargate task's containers reach it.

Fargate (platform 1.4.0+) injects ``ECS_CONTAINER_METADATA_URI_V4`` into every container;
``GET ${ECS_CONTAINER_METADATA_URI_V4}/task`` answers the task's metadata (ECS developer guide,
"Amazon ECS task metadata endpoint version 4 for tasks on Fargate"; the response's fields:
"Amazon ECS task metadata v4 JSON response for tasks on Fargate"). Here one HTTP server on
127.0.0.1 serves every container of the local cloud, each under its own path.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from localcloud.constants import SHUTDOWN_POLL_S


class TaskMetadataEndpoint:
    def __init__(self) -> None:
        self._tasks: dict[str, dict[str, Any]] = {}  # container path -> the task's metadata
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                token, _, rest = self.path.removeprefix("/v4/").partition("/")
                with endpoint._lock:
                    task = endpoint._tasks.get(token)
                if task is None or rest not in ("", "task"):
                    self.send_error(404)
                    return
                body = json.dumps(task if rest == "task" else task["Containers"][0]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # shutdown() waits for the loop's next poll: a short one keeps stopping the cloud quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_S,), name="localcloud-task-metadata", daemon=True
        )
        self._thread.start()

    def uri_for(self, task_arn: str, family: str, revision: int, container: str) -> str:
        """The ``ECS_CONTAINER_METADATA_URI_V4`` of ``container`` in the task."""
        token = uuid.uuid4().hex
        cluster = task_arn.split(":task/", 1)[-1].rsplit("/", 1)[0]
        task = {
            "Cluster": task_arn.split(":task/", 1)[0] + ":cluster/" + cluster,
            "TaskARN": task_arn,
            "Family": family,
            "Revision": str(revision),
            "DesiredStatus": "RUNNING",
            "KnownStatus": "PENDING",
            "LaunchType": "FARGATE",
            "Containers": [{"Name": container, "DockerId": token, "KnownStatus": "RUNNING"}],
        }
        with self._lock:
            self._tasks[token] = task
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v4/{token}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
