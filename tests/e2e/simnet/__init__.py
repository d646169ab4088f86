"""A simulated internet in Linux network namespaces, for end-to-end runs of the doctor."""

from .internet import (
    ACCOUNT,
    CLOUD_API,
    HOSTS,
    KEY,
    PLAIN_HTTP,
    PROXY_PASSWORD,
    PROXY_USER,
    WORKSPACE,
    WORKSPACE_URL,
    DoctorRun,
    Internet,
)
from .namespaces import tun_unavailable, unavailable
from .ocsp import OCSP_URL
from .pki import Pki

__all__ = [
    "ACCOUNT",
    "CLOUD_API",
    "HOSTS",
    "KEY",
    "OCSP_URL",
    "PLAIN_HTTP",
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
