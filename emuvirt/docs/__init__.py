"""Documentation helpers: tables generated from emuvirt's own code.

:mod:`emuvirt.docs.archtable` turns the arch profile table into rows (pure
Python, no Sphinx needed, unit-tested); :mod:`emuvirt.docs.sphinxext` is
the Sphinx extension that renders them (``.. emuvirt-arch-profiles::``).
"""
