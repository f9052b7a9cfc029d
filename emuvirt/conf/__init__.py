"""emuvirt configuration.

Importing this package registers every option group on ``CONF``, but
``[placement]``::

    from emuvirt import conf
    CONF = conf.CONF

``[placement]`` holds keystoneauth1's options, and importing keystoneauth1
(with requests) costs more than most commands take to run: the code that
talks to Placement (:mod:`emuvirt.scheduler.client.report`) registers the
group when it first reads it, with :func:`register_placement_opts`, which
also checks its values.

``CONF`` is emuvirt's own ``ConfigOpts``, not oslo.config's global
``cfg.CONF``: a Nova process that imports emuvirt's modules (the Nova
flavour, :mod:`emuvirt.nova`) keeps Nova's options on the global object,
and emuvirt's standalone options (``[DEFAULT]compute_driver``,
``[libvirt]...``) never collide with Nova's there. The Nova flavour
registers the few options it adds into Nova's configuration itself
(:mod:`emuvirt.nova.conf`).

Each group lives in its own module with ``register_opts(conf)`` and
``list_opts()``; :mod:`emuvirt.conf.opts` gathers them for the config
generator.
"""

from oslo_config import cfg
from oslo_log import log as logging

from emuvirt.conf import compute
from emuvirt.conf import default
from emuvirt.conf import emulation
from emuvirt.conf import libvirt
from emuvirt.conf import validate

CONF = cfg.ConfigOpts()

# The groups registered on import ([placement]: register_placement_opts).
MODULES = (default, libvirt, emulation, compute)

PLACEMENT_GROUP = 'placement'

for _module in MODULES:
    _module.register_opts(CONF)
logging.register_options(CONF)
# Commands print their results on stdout; log records go to stderr.
CONF.set_default('use_stderr', True)


def parse_args(argv, prog='emuvirt', default_config_files=None,
               check=True):
    """Parse the command line and config files, then set up logging.

    :param argv: the full command line, program name first (like
        ``sys.argv``); ``argv[1:]`` is parsed.
    :param prog: program name, for ``--help`` and the log.
    :param default_config_files: config files read when no
        ``--config-file`` is given; None means oslo.config's search
        (``/etc/emuvirt/emuvirt.conf`` and friends).
    :param check: run :func:`emuvirt.conf.validate.validate`.
    :raises: ConfigOptionInvalid naming the option for a bad value.
    """
    # Commands print their results on stdout; log records go to stderr.
    # (Set here too: a test's config fixture resets defaults.)
    CONF.set_default('use_stderr', True)
    CONF(argv[1:], project='emuvirt', prog=prog,
         default_config_files=default_config_files)
    if check:
        validate.validate(CONF)
    logging.setup(CONF, prog)


def register_placement_opts(conf=CONF):
    """Register the ``[placement]`` group on ``conf`` unless it has one.

    Its values are checked as :func:`parse_args` checks the others.

    :raises: ConfigOptionInvalid naming the option for a bad value.
    """
    if PLACEMENT_GROUP not in conf:
        from emuvirt.conf import placement
        placement.register_opts(conf)
    validate.check_group(conf, PLACEMENT_GROUP)
