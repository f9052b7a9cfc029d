"""Options of the ``[placement]`` group.

The group holds the keystoneauth1 session, auth and adapter options used to
reach the Placement API. To talk to a standalone Placement service whose
``[api]auth_strategy`` is ``noauth2`` (no Keystone), set::

    [placement]
    auth_type = admin_token
    endpoint = http://host:port
    token = admin

(``auth_type = none`` sends no token at all, which noauth2 refuses.)
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

PLACEMENT_GROUP = 'placement'
SERVICE_TYPE = 'placement'
VALID_INTERFACES = ['internal', 'public']

placement_group = cfg.OptGroup(
    PLACEMENT_GROUP,
    title='Placement service options',
    help='How to reach the Placement API, with keystoneauth1 options.')


def _adapter_opts():
    opts = ks_loading.get_adapter_conf_options(include_deprecated=False)
    cfg.set_defaults(opts, service_type=SERVICE_TYPE,
                     valid_interfaces=VALID_INTERFACES)
    return opts


def register_opts(conf):
    """Register the ``[placement]`` group and its keystoneauth1 options."""
    conf.register_group(placement_group)
    ks_loading.register_session_conf_options(conf, PLACEMENT_GROUP)
    ks_loading.register_auth_conf_options(conf, PLACEMENT_GROUP)
    conf.register_opts(_adapter_opts(), group=placement_group)


def list_opts():
    """Return the options for the config generator.

    Besides the common auth options, the ``password`` plugin's options are
    listed, as the usual way to authenticate a service.
    """
    opts = (ks_loading.get_session_conf_options() +
            ks_loading.get_auth_common_conf_options() +
            ks_loading.get_auth_plugin_conf_options('password') +
            _adapter_opts())
    # The plugin and common lists can share names; keep the first.
    seen = set()
    unique = []
    for opt in opts:
        if opt.dest not in seen:
            seen.add(opt.dest)
            unique.append(opt)
    return {placement_group: unique}
