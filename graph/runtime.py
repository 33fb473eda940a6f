"""A local Neo4j 5.26 LTS without Docker: jars resolved from Maven Central, started on Java 17.

`resolve_distribution` fills BIOS_HOME/neo4j/dist/<version> with Neo4j, APOC core and the Browser
(through docker/neo4j-runner/pom.xml and `mvn`), once; the versions are `RunnerSettings`. A `LocalNeo4j` is one
instance folder (its neo4j_home): it writes neo4j.conf, starts the server entry point in its own process group,
waits until Bolt answers, stops it cleanly, reports status and runs `neo4j-admin database import`.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bios_kg.graph.errors import RuntimeStateError
from bios_kg.graph.settings import (
    DEFAULT_BOLT_PORT,
    DEFAULT_HTTP_PORT,
    BiosSettings,
    RunnerSettings,
    child_environment,
    load_settings,
)
from bios_kg.resources import RUNNER_POM

NEO4J_VERSION = RunnerSettings().neo4j_version  # the default; BIOS_NEO4J_VERSION sets another
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
WANTED_OPEN_FILES = 40000

JVM_FLAGS = [
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dlog4j2.disable.jmx=true",
]

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def distribution_dir(home: Path, version: str) -> Path:
    """Where the jars of Neo4j `version` go under the data home `home`."""
    return home / "neo4j" / "dist" / version


def resolve_distribution(runner: RunnerSettings, home: Path, log: Log = _quiet) -> Path:
    """Resolve the runtime jars of `runner`'s versions with Maven once, under the data home `home`; later calls
    return the cached folder."""
    version = runner.neo4j_version
    dist = distribution_dir(home, version)
    if (dist / ".complete").exists():
        return dist
    if shutil.which("mvn") is None:
        raise RuntimeStateError("`mvn` is not on PATH: install Maven 3.8+ (and Java 17) to run Neo4j locally")
    log(f"resolving Neo4j {version}, APOC {runner.apoc_version} and the Browser from Maven Central into {dist}")
    shutil.rmtree(dist, ignore_errors=True)
    command = [
        "mvn",
        "-B",
        "-q",
        "-f",
        str(RUNNER_POM),
        f"-Dmaven.repo.local={home / 'neo4j' / 'm2'}",
        f"-Ddist.dir={dist}",
        f"-Dneo4j.version={version}",
        f"-Dapoc.version={runner.apoc_version}",
        f"-Dbrowser.version={runner.neo4j_browser_version}",
        f"-Dproject.build.directory={home / 'neo4j' / 'mvn-target'}",
        "package",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeStateError(f"mvn could not resolve Neo4j {version}:\n{(done.stdout + done.stderr)[-3000:]}")
    (dist / ".complete").write_text(f"neo4j={version}\napoc={runner.apoc_version}\n"
                                     f"browser={runner.neo4j_browser_version}\n")
    return dist


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _raise_open_files_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard == resource.RLIM_INFINITY else min(max(soft, WANTED_OPEN_FILES), hard)
    if wanted != soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited child not yet reaped) is not a running server.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[-1].startswith("Z"))


@dataclass(frozen=True)
class ServerOptions:
    bolt_port: int = DEFAULT_BOLT_PORT
    http_port: int = DEFAULT_HTTP_PORT
    http: bool = True
    heap: str = "2g"
    pagecache: str = "2g"
    password: str | None = None  # None: auth disabled (local development and tests)
    database: str = "neo4j"  # the default database's name (another makes a server that looks like a remote one)


@dataclass(frozen=True)
class Status:
    running: bool
    home: Path
    pid: int | None = None
    uri: str | None = None
    browser: str | None = None
    version: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "running": self.running,
            "home": str(self.home),
            "pid": self.pid,
            "uri": self.uri,
            "browser": self.browser,
            "version": self.version,
        }


class LocalNeo4j:
    """One Neo4j instance folder; never point two processes at the same home. Its Neo4j versions and where their
    jars are cached come from `settings` (default: the environment's)."""

    def __init__(self, home: Path, settings: BiosSettings | None = None) -> None:
        settings = settings or load_settings()
        self.home = home.expanduser().resolve()
        self.runner = settings.runner
        self.data_home = settings.data.home
        self.version = self.runner.neo4j_version
        self.state_file = self.home / "run" / "neo4j.json"
        self.console_log = self.home / "logs" / "console.log"
        self.import_log = self.home / "logs" / "import.log"

    # --- configuration -------------------------------------------------------------------------
    def write_conf(self, options: ServerOptions, dist: Path) -> Path:
        for sub in ("conf", "data", "logs", "run", "import"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        settings = {
            "server.default_listen_address": "127.0.0.1",
            "server.default_advertised_address": "127.0.0.1",
            "server.bolt.enabled": "true",
            "server.bolt.listen_address": f"127.0.0.1:{options.bolt_port}",
            "server.bolt.advertised_address": f"127.0.0.1:{options.bolt_port}",
            "server.http.enabled": str(options.http).lower(),
            "server.http.listen_address": f"127.0.0.1:{options.http_port}",
            "server.http.advertised_address": f"127.0.0.1:{options.http_port}",
            "server.https.enabled": "false",
            "dbms.security.auth_enabled": str(options.password is not None).lower(),
            "initial.dbms.default_database": options.database,
            "server.directories.plugins": str(dist / "plugins"),
            "server.directories.import": "import",
            "dbms.security.procedures.unrestricted": "apoc.*",
            "server.memory.heap.initial_size": options.heap,
            "server.memory.heap.max_size": options.heap,
            "server.memory.pagecache.size": options.pagecache,
            "db.tx_log.rotation.retention_policy": "1 days 512M",
            "dbms.usage_report.enabled": "false",
        }
        conf = self.home / "conf" / "neo4j.conf"
        conf.write_text(
            "# written by `bios neo4j start`; edits are overwritten\n"
            + "".join(f"{key}={value}\n" for key, value in settings.items())
        )
        return conf

    def _java(self, dist: Path, heap: str, main: Sequence[str]) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise RuntimeStateError("`java` is not on PATH: Neo4j 5.26 needs Java 17")
        return [
            java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            *JVM_FLAGS,
            f"-Djava.io.tmpdir={self.home / 'run'}",
            "-cp",
            f"{dist / 'lib'}/*:{dist / 'plugins'}/*",
            *main,
        ]

    def _admin_env(self) -> dict[str, str]:
        return child_environment(NEO4J_HOME=str(self.home), NEO4J_CONF=str(self.home / "conf"))

    # --- lifecycle -------------------------------------------------------------------------------
    def status(self) -> Status:
        if not self.state_file.exists():
            return Status(False, self.home)
        state = json.loads(self.state_file.read_text())
        if not _pid_alive(int(state["pid"])):
            return Status(False, self.home, version=state.get("version"))
        return Status(True, self.home, int(state["pid"]), state["uri"], state.get("browser"), state.get("version"))

    def start(self, options: ServerOptions = ServerOptions(), log: Log = _quiet) -> Status:
        current = self.status()
        if current.running:
            raise RuntimeStateError(f"Neo4j is already running from {self.home} (pid {current.pid}, {current.uri})")
        ports = [("Bolt", options.bolt_port)] + ([("HTTP", options.http_port)] if options.http else [])
        for name, port in ports:
            if not port_is_free(port):
                flag = "--bolt-port" if name == "Bolt" else "--http-port"
                raise RuntimeStateError(
                    f"{name} port {port} on 127.0.0.1 is taken by another process; choose another with {flag}"
                )
        dist = resolve_distribution(self.runner, self.data_home, log)
        self.write_conf(options, dist)
        if options.password is not None and not (self.home / "data" / "dbms" / "auth.ini").exists():
            self._set_initial_password(dist, options.password)
        command = self._java(
            dist,
            options.heap,
            [
                "org.neo4j.server.CommunityEntryPoint",
                f"--home-dir={self.home}",
                f"--config-dir={self.home / 'conf'}",
                "--console-mode",
            ],
        )
        with self.console_log.open("ab") as console:
            process = subprocess.Popen(
                command,
                cwd=self.home,
                stdout=console,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_raise_open_files_limit,
            )
        uri = f"bolt://127.0.0.1:{options.bolt_port}"
        browser = f"http://127.0.0.1:{options.http_port}/browser/" if options.http else None
        self.state_file.write_text(
            json.dumps({"pid": process.pid, "uri": uri, "browser": browser, "version": self.version})
        )
        log(f"starting Neo4j {self.version} from {self.home} (pid {process.pid})")
        self._wait_for_bolt(process, uri, options.password, options.database)
        return Status(True, self.home, process.pid, uri, browser, self.version)

    def _wait_for_bolt(self, process: subprocess.Popen[bytes], uri: str, password: str | None,
                       database: str = "neo4j") -> None:
        from neo4j import GraphDatabase
        from neo4j.exceptions import ServiceUnavailable

        deadline = time.monotonic() + START_TIMEOUT_S
        auth = ("neo4j", password) if password else None
        with GraphDatabase.driver(uri, auth=auth) as driver:
            while True:
                try:
                    driver.verify_connectivity()
                    driver.execute_query("RETURN 1", database_=database)
                    return
                except (ServiceUnavailable, OSError):
                    pass
                except Exception as exc:  # e.g. the database is still starting
                    if "DatabaseUnavailable" not in type(exc).__name__ and "unavailable" not in str(exc):
                        raise
                if process.poll() is not None or time.monotonic() > deadline:
                    reason = "exited" if process.poll() is not None else f"did not answer in {START_TIMEOUT_S:.0f}s"
                    self._terminate(process.pid)
                    self.state_file.unlink(missing_ok=True)
                    raise RuntimeStateError(f"Neo4j {reason}; last lines of {self.console_log}:\n{self.log_tail()}")
                time.sleep(0.5)

    def stop(self, log: Log = _quiet) -> bool:
        """Stop the instance; False when it was not running."""
        current = self.status()
        if not current.running or current.pid is None:
            self.state_file.unlink(missing_ok=True)
            return False
        log(f"stopping Neo4j (pid {current.pid})")
        self._terminate(current.pid)
        self.state_file.unlink(missing_ok=True)
        return True

    def _terminate(self, pid: int) -> None:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            if not _pid_alive(pid):
                break
            time.sleep(0.2)
        else:
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):  # reap it when it is our own child (tests)
            os.waitpid(pid, os.WNOHANG)

    def log_tail(self, lines: int = 30) -> str:
        if not self.console_log.exists():
            return "(no console log)"
        return "\n".join(self.console_log.read_text(errors="replace").splitlines()[-lines:])

    def _set_initial_password(self, dist: Path, password: str) -> None:
        command = self._java(
            dist,
            "512m",
            ["org.neo4j.cli.AdminTool", "dbms", "set-initial-password", password, "--require-password-change=false"],
        )
        done = subprocess.run(command, env=self._admin_env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeStateError(f"could not set the initial password: {done.stdout}{done.stderr}")

    # --- bulk import -----------------------------------------------------------------------------
    def has_database(self, database: str = "neo4j") -> bool:
        return (self.home / "data" / "databases" / database / "neostore").exists()

    def import_csv(
        self,
        nodes: Sequence[tuple[str, Sequence[Path]]],
        relationships: Sequence[Sequence[Path]],
        database: str = "neo4j",
        report: Path | None = None,
        threads: int | None = None,
        array_delimiter: str = ";",
        multiline_fields: bool = False,
        heap: str = "1g",
        off_heap: str = "4G",
    ) -> Path:
        """Run `neo4j-admin database import full` into `database` (the instance must be stopped).

        `nodes` holds (label, [header, data files...]); `relationships` holds [header, data files...].
        Bad relationships (missing ends) are skipped and listed in the report file, which is returned.
        `heap` is the tool's JVM heap, `off_heap` what its caches may take outside the heap.
        The tool's own output (statistics, peak memory) is kept in logs/import.log.
        """
        if self.status().running:
            raise RuntimeStateError("stop Neo4j before a bulk import (`bios neo4j stop`)")
        dist = resolve_distribution(self.runner, self.data_home)
        if not (self.home / "conf" / "neo4j.conf").exists():
            self.write_conf(ServerOptions(http=False), dist)
        report = report or self.home / "logs" / "import.report"
        report.unlink(missing_ok=True)
        args = [
            "database",
            "import",
            "full",
            "--id-type=string",
            f"--array-delimiter={array_delimiter}",
            f"--multiline-fields={str(multiline_fields).lower()}",
            "--skip-duplicate-nodes=true",
            "--skip-bad-relationships=true",
            "--bad-tolerance=1000000000",
            "--overwrite-destination=true",
            f"--max-off-heap-memory={off_heap}",
            "--high-parallel-io=on",  # on SSDs the importer reads its files with more threads
            f"--threads={threads or os.cpu_count() or 2}",
            f"--report-file={report}",
        ]
        args += [f"--nodes={label}={','.join(map(str, files))}" for label, files in nodes]
        args += [f"--relationships={','.join(map(str, files))}" for files in relationships]
        command = self._java(dist, heap, ["org.neo4j.cli.AdminTool", *args, "--", database])
        done = subprocess.run(command, env=self._admin_env(), capture_output=True, text=True, cwd=self.home)
        self.import_log.parent.mkdir(parents=True, exist_ok=True)
        self.import_log.write_text(done.stdout + done.stderr, encoding="utf-8")
        if done.returncode != 0:
            raise RuntimeStateError(f"neo4j-admin import failed:\n{(done.stdout + done.stderr)[-3000:]}")
        return report

    def drop_database(self, database: str = "neo4j") -> None:
        """Delete the store and transaction logs of `database` (stopped instance); the next start
        creates it again, empty (the default database is re-created by the server)."""
        if self.status().running:
            raise RuntimeStateError("stop Neo4j before deleting a database")
        for folder in ("databases", "transactions"):
            shutil.rmtree(self.home / "data" / folder / database, ignore_errors=True)

    def read_options(self, password: str | None = None) -> ServerOptions | None:
        """The options of the last start, read back from neo4j.conf (None when there is no conf).

        The password is not in the conf: pass it when the conf enables authentication.
        """
        conf = self.home / "conf" / "neo4j.conf"
        if not conf.exists():
            return None
        values: dict[str, str] = {}
        for line in conf.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
        defaults = ServerOptions()

        def port(key: str, default: int) -> int:
            address = values.get(key, "")
            tail = address.rsplit(":", 1)[-1]
            return int(tail) if tail.isdigit() else default

        return ServerOptions(
            bolt_port=port("server.bolt.listen_address", defaults.bolt_port),
            http_port=port("server.http.listen_address", defaults.http_port),
            http=values.get("server.http.enabled", "true").lower() == "true",
            heap=values.get("server.memory.heap.max_size", defaults.heap),
            pagecache=values.get("server.memory.pagecache.size", defaults.pagecache),
            password=password if values.get("dbms.security.auth_enabled", "false").lower() == "true" else None,
            database=values.get("initial.dbms.default_database", defaults.database),
        )
