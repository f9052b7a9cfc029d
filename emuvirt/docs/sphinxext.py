"""Sphinx extension: ``.. emuvirt-arch-profiles::``.

Renders :func:`emuvirt.docs.archtable.build` as a table: one row per
question, one column per guest arch, every value taken from the arch
profiles (:mod:`emuvirt.virt.archs`) when the docs are built. Add
``emuvirt.docs.sphinxext`` to ``extensions`` in ``conf.py``.

The directive takes no argument and no content. A page using it is
rebuilt when ``emuvirt/virt/archs.py`` changes.
"""

from docutils import nodes
from sphinx.util import docutils as sphinx_docutils

from emuvirt.docs import archtable
from emuvirt.virt import archs

# Relative column widths: the question, then each arch.
LABEL_WIDTH = 3
ARCH_WIDTH = 2


def _literals(values):
    out = []
    for i, value in enumerate(values):
        if i:
            out.append(nodes.Text(', '))
        out.append(nodes.literal(value, value))
    return out


def _cell_nodes(cell):
    """Paragraphs for one cell: one per machine family, else one."""
    paras = []
    for name, value in cell.pairs:
        para = nodes.paragraph()
        para += nodes.Text('%s: ' % archtable.family_label(name))
        para += (nodes.literal(value, value) if value
                 else nodes.Text(archtable.NONE))
        paras.append(para)
    if cell.values or cell.note or not paras:
        para = nodes.paragraph()
        para.extend(_literals(cell.values))
        if cell.note:
            note = (' (%s)' % cell.note) if cell.values else cell.note
            para += nodes.Text(note)
        paras.append(para)
    return paras


def _entry(children):
    entry = nodes.entry()
    entry.extend(children)
    return entry


def _row(children_per_entry):
    row = nodes.row()
    row.extend(_entry(c) for c in children_per_entry)
    return row


def render(table):
    """A docutils table node for an :class:`archtable.Table`.

    Column widths are left to the browser (``colwidths-auto``).
    """
    node = nodes.table(classes=['emuvirt-arch-profiles', 'colwidths-auto'])
    group = nodes.tgroup(cols=1 + len(table.arches))
    node += group
    group += nodes.colspec(colwidth=LABEL_WIDTH)
    for _arch in table.arches:
        group += nodes.colspec(colwidth=ARCH_WIDTH)
    head = nodes.thead()
    head += _row([[nodes.paragraph(text='guest arch')]] +
                 [[nodes.paragraph(text=a)] for a in table.arches])
    group += head
    body = nodes.tbody()
    for row in table.rows:
        body += _row([[nodes.paragraph(text=row.label)]] +
                     [_cell_nodes(c) for c in row.cells])
    group += body
    return node


class ArchProfilesDirective(sphinx_docutils.SphinxDirective):
    """``.. emuvirt-arch-profiles::``: the per-arch table."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self):
        self.env.note_dependency(archs.__file__)
        # In a container that scrolls where the page is too narrow.
        box = nodes.container(classes=['emuvirt-arch-profiles-box'])
        box += render(archtable.build())
        return [box]


def setup(app):
    app.add_directive('emuvirt-arch-profiles', ArchProfilesDirective)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
