"""``osm-l2net ns-create`` / ``ns-delete``: osmclient's commands and flags, plus the NS's networks, for an unmodified
OSM. Thin: flags → settings → :mod:`osm_l2net.osm.workflow`. Registered by osm_l2net/cli/main.py through ``register``.

Exit codes (osm_l2net/core/errors.py): 0 success, 1 failure (OSM or the cluster failed, NBI unreachable), 2 bad input
(flags, --config, descriptors, unknown NSD/VIM/NS, TLS settings that do not fit NBI's server), 3 a conflicting object,
4 a deadline passed, 5 credentials or permission refused (NBI or the Kubernetes API, 401/403).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from osm_l2net.cli.common import CONFIG, handle_errors, kube_options, namespace_option, read_config
from osm_l2net.cli.types import Duration, ProviderChoice
from osm_l2net.core.errors import InputError
from osm_l2net.core.options import DEFAULT_PROVIDER, PlanOptions

F = TypeVar("F", bound=Callable[..., Any])


def _nbi_options(func: F) -> F:
    options = [
        click.option("--hostname", default=None, help="OSM NBI host[:port] (HTTPS, port 443 unless given, as osmclient) "
                     "or an http(s):// URL; default $OSM_HOSTNAME."),
        click.option("--user", default=None, help="OSM user; default $OSM_USER, else admin."),
        click.option("--project", default=None, help="OSM project; default $OSM_PROJECT, else admin."),
        click.option("--insecure", is_flag=True, help="Do not verify NBI's TLS certificate (one warning line)."),
        click.option("--ca-cert", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="CA bundle to verify NBI's TLS certificate with (default: $REQUESTS_CA_BUNDLE, else the "
                     "system's)."),
        kube_options,  # of the cluster OSM deploys the KNFs to
        click.option("--ready-timeout", type=Duration(0.1), default="5m", show_default=True,
                     help="How long to wait for the networks to be ready / gone (Go-style duration: 5m, 90s, 1h30m; "
                          "or plain seconds)."),
        click.option("--poll-interval", type=Duration(0.01), default="5s", show_default=True,
                     help="Time between polls of OSM's operation (Go-style duration or plain seconds)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _password() -> str:
    """$OSM_PASSWORD, else a hidden prompt on a terminal: never a flag (argv is visible to every local user)."""
    password = os.environ.get("OSM_PASSWORD", "")
    if password:
        return password
    if sys.stdin.isatty():
        return str(click.prompt("OSM password", hide_input=True))
    raise InputError.single("$OSM_PASSWORD", "", "is not set", "the OSM user's password in $OSM_PASSWORD")


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _session(hostname: str | None, user: str | None, project: str | None, insecure: bool, ca_cert: str | None,
             kubeconfig: str | None, context: str | None, namespace: str | None, poll_interval: float) -> tuple[Any, Any]:
    from osm_l2net.kube import cluster as kube
    from osm_l2net.osm.nbi import NbiClient, NbiSettings

    verify: bool | str = False if insecure else (ca_cert or True)
    settings = NbiSettings.from_env(os.environ, hostname=hostname, user=user, project=project, verify=verify,
                                    poll_interval=poll_interval)
    settings = NbiSettings(**{**settings.__dict__, "password": _password()})
    if insecure:
        click.echo(f"warning: --insecure: the TLS certificate of {settings.base_url} is not verified", err=True)
    cluster = kube.Cluster(kube.ClusterAccess(kubeconfig=kubeconfig, context=context, namespace=namespace))
    return NbiClient(settings), cluster


def _deploy_settings(timeout: float) -> Any:
    from osm_l2net.deploy.deployer import DeploySettings

    return DeploySettings(ready_timeout=timeout, delete_timeout=timeout, pods_gone_timeout=timeout)


@click.command("ns-create")
@click.option("--ns_name", required=True, help="Name of the NS instance.")
@click.option("--nsd_name", required=True, help="Name (or id) of the onboarded NSD.")
@click.option("--vim_account", required=True, help="Name (or id) of the VIM account.")
@click.option("--description", default=None, help="NS description.")
@CONFIG
@click.option("--config_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Instantiation parameters from a YAML file.")
@namespace_option("the kubeconfig context's, else 'default'; the KDUs' too unless --config sets k8s-namespace")
@click.option("--provider", type=ProviderChoice(), default=DEFAULT_PROVIDER, show_default=True)
@click.option("--wait", is_flag=True, help="Follow OSM's operation until it ends; on failure, roll the NS back.")
@click.option("--timeout", "wait_timeout", type=Duration(1.0), default="1h", show_default=True,
              help="How long to wait for OSM's operation with --wait (Go-style duration: 1h, 30m, 90s; or plain "
                   "seconds, as osmclient's --timeout).")
@_nbi_options
@handle_errors
def ns_create(ns_name: str, nsd_name: str, vim_account: str, description: str | None, config: str | None,
              config_file: str | None, namespace: str | None, provider: str, wait: bool, wait_timeout: float,
              hostname: str | None, user: str | None, project: str | None, insecure: bool, ca_cert: str | None,
              kubeconfig: str | None, context: str | None, ready_timeout: float, poll_interval: float) -> None:
    """Create the NS's L2 networks, then the NS in OSM with each KDU's attachment (osm ns-create)."""
    from osm_l2net.osm.workflow import NsCreateRequest
    from osm_l2net.osm.workflow import ns_create as create

    params = read_config(config, config_file)
    client, cluster = _session(hostname, user, project, insecure, ca_cert, kubeconfig, context, namespace, poll_interval)
    with client, cluster:
        request = NsCreateRequest(ns_name, nsd_name, vim_account, params.data, description, wait, wait_timeout,
                                  PlanOptions(provider=provider, namespace=cluster.namespace),
                                  config_source=params.source)
        result = create(client, cluster, request, _deploy_settings(ready_timeout), _progress)
    click.echo(result.ns_id)


@click.command("ns-delete")
@click.argument("name")
@click.option("--wait", is_flag=True, help="Accepted for osmclient compatibility: ns-delete always waits, because the "
              "networks can only go once OSM has terminated the NS.")
@click.option("--force", is_flag=True, help="Force the deletion in OSM, and delete the networks without waiting for pods.")
@click.option("--timeout", "wait_timeout", type=Duration(1.0), default="1h", show_default=True,
              help="How long to wait for OSM's termination (Go-style duration: 1h, 30m, 90s; or plain seconds, as "
                   "osmclient's --timeout).")
@_nbi_options
@handle_errors
def ns_delete(name: str, wait: bool, force: bool, wait_timeout: float, hostname: str | None, user: str | None,
              project: str | None, insecure: bool, ca_cert: str | None, kubeconfig: str | None, context: str | None,
              ready_timeout: float, poll_interval: float) -> None:
    """Delete the NS in OSM (osm ns-delete), wait until it is terminated, then delete its networks."""
    from osm_l2net.osm.workflow import ns_delete as delete

    client, cluster = _session(hostname, user, project, insecure, ca_cert, kubeconfig, context, None, poll_interval)
    with client, cluster:
        result = delete(client, cluster, name, _deploy_settings(ready_timeout), _progress, force=force,
                        wait_timeout=wait_timeout)
    click.echo(f"NS {result.ns_id} deleted; networks removed: {', '.join(result.networks) or 'none'}")


def register(cli_group: click.Group) -> None:
    """Add ns-create and ns-delete to the ``osm-l2net`` command group."""
    cli_group.add_command(ns_create)
    cli_group.add_command(ns_delete)
