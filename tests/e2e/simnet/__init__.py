"""A simulated internet in Linux network namespaces, for end-to-end runs of the doctor."""

from simnet.internet import (
    ACCOUNT,
    HOSTS,
    KEY,
    PROXY_PASSWORD,
    PROXY_USER,
    WORKSPACE,
    WORKSPACE_URL,
    DoctorRun,
    Internet,
)
from simnet.namespaces import tun_unavailable, unavailable
from simnet.pki import Pki

__all__ = [
    "ACCOUNT",
    "HOSTS",
    "KEY",
    "PROXY_PASSWORD",
    "PROXY_USER",
    "WORKSPACE",
    "WORKSPACE_URL",
    "DoctorRun",
    "Internet",
    "Pki",
    "tun_unavailable",
    "unavailable",
]
