# Sphinx configuration for emuvirt's documentation: tox -e docs.

import pbr.version

project = 'emuvirt'
author = 'emuvirt developers'
copyright = 'emuvirt developers'
version_info = pbr.version.VersionInfo('emuvirt')
release = version_info.release_string()
version = version_info.version_string()

extensions = [
    # ".. show-options:: NAMESPACE": the configuration reference, generated
    # from the options the code registers (the oslo.config.opts entry
    # points of setup.cfg).
    'oslo_config.sphinxext',
]

root_doc = 'index'
exclude_patterns = []
pygments_style = 'sphinx'
html_theme = 'alabaster'
html_title = 'emuvirt %s' % version
