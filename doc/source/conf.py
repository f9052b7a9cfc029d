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
    # ".. emuvirt-arch-profiles::": the per-arch table, generated from the
    # arch profiles (emuvirt/virt/archs.py).  In the emuvirt package, not
    # in doc/, so that the unit tests import its table builder as they
    # import the rest of emuvirt.
    'emuvirt.docs.sphinxext',
]

root_doc = 'index'
exclude_patterns = []
pygments_style = 'sphinx'
html_theme = 'alabaster'
html_title = 'emuvirt %s' % version
# Wide enough for the per-arch table's seven columns.
html_theme_options = {'page_width': '1400px', 'body_max_width': 'none'}
html_static_path = ['_static']
html_css_files = ['emuvirt.css']
