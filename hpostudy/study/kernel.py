"""The Jupyter kernel the study executes notebooks in, started so that a healthy run is quiet.

Two messages of a default kernel teach users to ignore WARNING and ERROR lines:

* ``[IPKernelApp] WARNING | Kernel is running over TCP without encryption``: the manager
  provisions CurveZMQ keys for the kernel (``transport_encryption``), where pyzmq has Curve
  and the kernelspec declares it, so the kernel's sockets are encrypted and nothing is said;
* ``ERROR | KeyboardInterrupt caught in kernel``: jupyter_client interrupts a kernel before
  asking it to shut down, and a kernel still finishing its last reply reports the interrupt.
  A notebook's kernel is idle when papermill ends it, so :class:`QuietKernelManager` asks for
  the shutdown without the interrupt (a kernel that does not stop is still terminated after
  ``shutdown_wait_time``).

Bare papermill (``papermill in.ipynb out.ipynb``) starts the kernel with its own manager and no
configuration, so no keys are provisioned. For it the kernelspec the Makefile installs starts
the kernel through :data:`LAUNCHER`, which is ``ipykernel_launcher`` less that one message:
the kernel listens on the loopback interface, its messages are signed with the connection
file's key (readable by its owner only), and the warning says nothing a study run could act on.
Every other kernel message is kept. ``python -m hpostudy.study.kernel`` rewrites the installed
kernelspec to use it.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets.config import Config


class QuietKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` that shuts an idle kernel down without interrupting it."""

    async def _async_interrupt_kernel(self) -> None:
        if getattr(self, "shutting_down", False):
            return
        await super()._async_interrupt_kernel()


def kernel_options() -> dict:
    """Keyword arguments for ``papermill.execute_notebook`` (passed on to nbclient)."""
    import zmq

    config = Config()
    if zmq.has("curve") and "transport_encryption" in AsyncKernelManager.class_trait_names():
        config.KernelManager.transport_encryption = "auto"
    return {"kernel_manager_class": QuietKernelManager, "config": config}


# ``ipykernel_launcher`` (the current folder off ``sys.path`` while the kernel loads) with a
# filter on the kernel application's logger for the plain-TCP warning only.
LAUNCHER = ("import sys, logging; sys.path[:1] = [] if sys.path[0] == '' else sys.path[:1]; "
            "logging.getLogger('IPKernelApp').addFilter("
            "lambda record: 'without encryption' not in record.getMessage()); "
            "from ipykernel import kernelapp; kernelapp.launch_new_instance()")


def kernelspec_argv(python: str = sys.executable) -> list[str]:
    """The ``argv`` of the study's kernelspec: :data:`LAUNCHER` run by ``python``."""
    return [python, "-Xfrozen_modules=off", "-c", LAUNCHER, "-f", "{connection_file}"]


def install_quiet_kernelspec(prefix: str = sys.prefix, name: str = "python3") -> Path:
    """Point the kernelspec ``name`` installed under ``prefix`` (by ``ipykernel install
    --sys-prefix``) at :func:`kernelspec_argv`; returns its ``kernel.json``."""
    spec = Path(prefix) / "share" / "jupyter" / "kernels" / name / "kernel.json"
    if not spec.is_file():
        raise FileNotFoundError(f"no kernelspec at {spec}: install it first with "
                                f"`{sys.executable} -m ipykernel install --sys-prefix --name {name}`")
    data = json.loads(spec.read_text())
    data["argv"] = kernelspec_argv()
    spec.write_text(json.dumps(data, indent=1) + "\n")
    return spec


if __name__ == "__main__":
    print(f"kernelspec {install_quiet_kernelspec()} starts quiet kernels")
