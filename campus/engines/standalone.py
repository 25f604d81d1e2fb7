"""A Spark standalone cluster on this machine's loopback: a master and workers, each a
process of its own, started for the tests and benchmarks and stopped afterwards.

    with local_cluster(workers=2) as cluster:
        campus.open(engine="spark", spark_master=cluster.master, spark_conf=LOOPBACK)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}  # the driver's side


@dataclass
class Cluster:
    master: str  # spark://127.0.0.1:<port>
    logs: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def executors(self) -> list[int]:
        """The process ids of the executors the workers run now."""
        found = subprocess.run(["pgrep", "-f", "CoarseGrainedExecutorBackend"], capture_output=True, text=True)
        ours = {p.pid for p in self.processes}
        return [int(pid) for pid in found.stdout.split() if _parent(int(pid)) in ours]


@contextmanager
def local_cluster(logs: Path, workers: int = 2, cores: int = 1, memory: str = "1g"):
    """A master and `workers` workers of `cores` cores and `memory` each, on 127.0.0.1."""
    port = _free_port()
    cluster = Cluster(f"spark://127.0.0.1:{port}", logs)
    logs.mkdir(parents=True, exist_ok=True)
    try:
        cluster.processes.append(_start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                                         str(port), "--webui-port", str(_free_port())], logs / "master.log"))
        _wait_for(port, cluster.processes[0], logs / "master.log")
        for i in range(workers):
            cluster.processes.append(_start(
                ["org.apache.spark.deploy.worker.Worker", cluster.master, "--host", "127.0.0.1",
                 "--cores", str(cores), "--memory", memory, "--webui-port", str(_free_port()),
                 "--work-dir", str(logs / f"work-{i}")], logs / f"worker-{i}.log"))
        yield cluster
    finally:
        for process in cluster.processes:  # each started a session of its own: its group is its JVMs
            _signal_group(process, signal.SIGTERM)
        for process in cluster.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()


def spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def _start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([str(spark_class()), *args], stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True, env=os.environ | {"SPARK_LOCAL_IP": "127.0.0.1"})


def _wait_for(port: int, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not _listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Spark master did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1
