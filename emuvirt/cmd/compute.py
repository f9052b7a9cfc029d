"""``emuvirt-compute``: the compute service.

Usage::

    emuvirt-compute [--config-file FILE ...] [--once]

Loads the driver named by ``[DEFAULT]compute_driver``, prepares the host,
then updates this host's resource provider in Placement and reconciles its
allocations with the guests (:mod:`emuvirt.compute.reconcile`) every
``[compute]provider_update_interval`` seconds until SIGTERM or SIGINT.
``--once`` runs a single update and exits: 0 if it succeeded, 1 if not.
"""

import sys

from oslo_config import cfg
from oslo_log import log as logging

from emuvirt.compute import manager
from emuvirt import conf
from emuvirt import exception
from emuvirt import interrupt

LOG = logging.getLogger(__name__)

CLI_OPTS = [
    cfg.BoolOpt('once', default=False,
                help='Run one provider update and exit (status 0 if it '
                     'succeeded).'),
]


def main(argv=None):
    # Until the service's own handlers are in place (they stop it between
    # cycles), SIGINT and SIGTERM end it with one line.
    return interrupt.run_command('emuvirt-compute', lambda: _main(argv))


def _main(argv):
    argv = sys.argv if argv is None else argv
    conf.CONF.register_cli_opts(CLI_OPTS)
    try:
        conf.parse_args(argv, prog='emuvirt-compute')
        service = manager.ComputeManager(conf.CONF)
    except exception.EmuvirtException as e:
        print('emuvirt-compute: error: %s' % e, file=sys.stderr)
        return 1
    service.install_signal_handlers()
    LOG.info('emuvirt-compute starting on %s (driver %s)',
             conf.CONF.host, conf.CONF.compute_driver)
    return service.run(once=conf.CONF.once)


if __name__ == '__main__':
    sys.exit(main())
