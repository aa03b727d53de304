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
"""
from __future__ import annotations

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
