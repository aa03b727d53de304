"""Joining a Ray cluster for :class:`hpostudy.study.executors.RayExecutor` (``hpostudy run
--executor ray --address HOST:PORT``): Ray imported only when asked for, with an error that says
how to install it (:func:`import_ray`); the cluster's head checked for an answer within
``HPOSTUDY_RAY_TIMEOUT`` seconds before Ray is asked to join it (:func:`reachable`), since Ray
itself keeps retrying an unreachable head for minutes; and joining it (:func:`connect`).
"""
from __future__ import annotations

import os

RAY_MISSING = ("the ray executor needs Ray: install the cluster extra "
               "(pip install 'hpostudy[cluster]': Ray and psycopg) on this machine "
               "and on every node of the cluster")



def import_ray():
    """The ``ray`` module, or an error that says how to install it."""
    try:
        import ray
    except ModuleNotFoundError as err:
        raise RuntimeError(RAY_MISSING) from err
    return ray


def connect(address: str | None = None):
    """Join the Ray cluster at ``address`` (``None``: ``RAY_ADDRESS``, else start a new local
    one with every core of this machine, never joining one found running here) unless this
    process already has; returns ``ray``."""
    ray = import_ray()
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        if address and address != "auto":
            reachable(address)
        try:
            ray.init(address=address or "local", log_to_driver=False, configure_logging=False,
                     **({} if address else {"include_dashboard": False}))
        except ConnectionError as err:
            raise RuntimeError(f"cannot reach the Ray cluster at {address} ({err}): start it "
                               "with `ray start --head` on its head node, give its address as "
                               "--address HOST:6379, and use the cluster's authentication here "
                               "too (RAY_AUTH_MODE=token and its token, see the README)") from err
    return ray


RAY_TIMEOUT = "HPOSTUDY_RAY_TIMEOUT"  # seconds to wait for a Ray cluster's head to answer


def reachable(address: str) -> None:
    """Check that something answers at the Ray cluster's ``address`` (``HOST:PORT``, or
    ``ray://HOST:PORT``) within ``HPOSTUDY_RAY_TIMEOUT`` seconds (default 30), before Ray is
    asked to join it -- Ray itself keeps retrying an unreachable head for minutes. Raises
    :class:`RuntimeError` naming the address and how to check the cluster."""
    import socket

    raw = os.environ.get(RAY_TIMEOUT, "").strip() or "30"
    try:
        timeout = float(raw)
        if not timeout > 0:
            raise ValueError
    except ValueError:
        raise ValueError(f"{RAY_TIMEOUT}={raw!r} is not a positive number of seconds: set it "
                         "to e.g. 30, or unset it") from None
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--address {address}: give the Ray cluster's head as HOST:PORT "
                         "(e.g. 10.0.0.5:6379, what `ray start --head` prints)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        why = "no answer" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise RuntimeError(
            f"cannot reach the Ray cluster at {address} ({why} within {timeout:g} s): check "
            f"that its head runs (`ray status --address {hostport}` on a machine of the "
            "cluster; start it with `ray start --head`), that the address and port are the "
            f"ones it printed, and that no firewall blocks them ({RAY_TIMEOUT} sets the "
            "wait)") from None
