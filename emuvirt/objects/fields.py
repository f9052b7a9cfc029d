"""Field types of the emuvirt versioned objects.

The central one is :class:`Architecture`: canonical CPU architecture names
(Nova's list plus ``riscv64``) and the aliases distributions and tools use
for them, from :mod:`emuvirt.architecture`.
"""

import uuid

from oslo_utils import strutils
from oslo_utils import uuidutils
from oslo_versionedobjects import fields

from emuvirt import architecture
from emuvirt import exception

# Re-export the generic fields so object modules import one module.
BooleanField = fields.BooleanField
DateTimeField = fields.DateTimeField
DictOfStringsField = fields.DictOfStringsField
IntegerField = fields.IntegerField
NonNegativeIntegerField = fields.NonNegativeIntegerField
ObjectField = fields.ObjectField
StringField = fields.StringField


class BaseEmuvirtEnum(fields.Enum):
    """An enum whose valid values are the class attribute ``ALL``."""

    ALL = ()

    def __init__(self):
        super().__init__(valid_values=self.__class__.ALL)


class Architecture(BaseEmuvirtEnum):
    """Canonical CPU architecture names, as libvirt and ``uname -m`` use.

    The names, aliases and checks are :mod:`emuvirt.architecture`'s.
    """

    ALL = architecture.ALL
    ALIASES = architecture.ALIASES

    @staticmethod
    def is_valid(name):
        """Whether ``name`` is a canonical architecture name."""
        return architecture.is_valid(name)

    @staticmethod
    def canonicalize(name, what=None):
        """See :func:`emuvirt.architecture.canonicalize`."""
        return architecture.canonicalize(name, what=what)

    def coerce(self, obj, attr, value):
        try:
            value = self.canonicalize(value, what=attr)
        except exception.InvalidArchitectureName as exc:
            raise ValueError(str(exc))
        return super().coerce(obj, attr, value)


class FirmwareType(BaseEmuvirtEnum):
    BIOS = 'bios'
    UEFI = 'uefi'

    ALL = (BIOS, UEFI)


class VideoModel(BaseEmuvirtEnum):
    BOCHS = 'bochs'
    CIRRUS = 'cirrus'
    GOP = 'gop'
    NONE = 'none'
    QXL = 'qxl'
    RAMFB = 'ramfb'
    VGA = 'vga'
    VIRTIO = 'virtio'
    VMVGA = 'vmvga'

    ALL = (BOCHS, CIRRUS, GOP, NONE, QXL, RAMFB, VGA, VIRTIO, VMVGA)


class DiskBus(BaseEmuvirtEnum):
    FDC = 'fdc'
    IDE = 'ide'
    SATA = 'sata'
    SCSI = 'scsi'
    USB = 'usb'
    VIRTIO = 'virtio'

    ALL = (FDC, IDE, SATA, SCSI, USB, VIRTIO)


class SCSIModel(BaseEmuvirtEnum):
    BUSLOGIC = 'buslogic'
    IBMVSCSI = 'ibmvscsi'
    LSILOGIC = 'lsilogic'
    LSISAS1068 = 'lsisas1068'
    LSISAS1078 = 'lsisas1078'
    VIRTIO_SCSI = 'virtio-scsi'
    VMPVSCSI = 'vmpvscsi'

    ALL = (BUSLOGIC, IBMVSCSI, LSILOGIC, LSISAS1068, LSISAS1078,
           VIRTIO_SCSI, VMPVSCSI)


class VIFModel(BaseEmuvirtEnum):
    """Nova's NIC models, with its older (VMware) spellings.

    Whether a guest arch takes one is the arch profile's business; some
    (netfront, sriov, vmxnet) no QEMU guest takes.
    """

    E1000 = 'e1000'
    E1000E = 'e1000e'
    IGB = 'igb'
    LAN9118 = 'lan9118'
    NE2K_PCI = 'ne2k_pci'
    NETFRONT = 'netfront'
    PCNET = 'pcnet'
    RTL8139 = 'rtl8139'
    SPAPR_VLAN = 'spapr-vlan'
    SRIOV = 'sriov'
    VIRTIO = 'virtio'
    VMXNET = 'vmxnet'
    VMXNET3 = 'vmxnet3'

    ALL = (E1000, E1000E, IGB, LAN9118, NE2K_PCI, NETFRONT, PCNET, RTL8139,
           SPAPR_VLAN, SRIOV, VIRTIO, VMXNET, VMXNET3)

    LEGACY_VALUES = {
        'virtuale1000': E1000,
        'virtuale1000e': E1000E,
        'virtualpcnet32': PCNET,
        'virtualsriovethernetcard': SRIOV,
        'virtualvmxnet': VMXNET,
        'virtualvmxnet3': VMXNET3,
    }

    def coerce(self, obj, attr, value):
        if isinstance(value, str):
            value = value.lower()
            value = self.LEGACY_VALUES.get(value, value)
        return super().coerce(obj, attr, value)


class PointerModel(BaseEmuvirtEnum):
    USBTABLET = 'usbtablet'

    ALL = (USBTABLET,)


class InputBus(BaseEmuvirtEnum):
    USB = 'usb'
    VIRTIO = 'virtio'

    ALL = (USB, VIRTIO)


class ConsoleType(BaseEmuvirtEnum):
    """The guest's interactive console, as asked by an image."""

    SERIAL = 'serial'
    VNC = 'vnc'
    SPICE = 'spice'
    NONE = 'none'

    ALL = (SERIAL, VNC, SPICE, NONE)


class RNGModel(BaseEmuvirtEnum):
    VIRTIO = 'virtio'

    ALL = (VIRTIO,)


class OSType(BaseEmuvirtEnum):
    LINUX = 'linux'
    WINDOWS = 'windows'

    ALL = (LINUX, WINDOWS)


class StrictBoolean(fields.Boolean):
    """A boolean given as bool or string; an unknown string is an error.

    Accepts what ``oslo_utils.strutils.bool_from_string`` knows (true,
    yes, on, 1, false, no, off, 0, ...), unlike the flexible boolean of
    oslo.versionedobjects which turns any unknown string into False.
    """

    def coerce(self, obj, attr, value):
        if isinstance(value, bool):
            return value
        return strutils.bool_from_string(value, strict=True)


class StrictUUID(fields.UUID):
    """A UUID; unlike oslo.versionedobjects' own, a bad one is an error.

    The instance UUID becomes the libvirt domain UUID, which libvirt
    refuses unless it is well formed.
    """

    def coerce(self, obj, attr, value):
        if not uuidutils.is_uuid_like(value):
            raise ValueError("'%s' is not a UUID (field %s)" % (value, attr))
        return str(uuid.UUID(value))


class ArchitectureField(fields.BaseEnumField):
    AUTO_TYPE = Architecture()


class FirmwareTypeField(fields.BaseEnumField):
    AUTO_TYPE = FirmwareType()


class VideoModelField(fields.BaseEnumField):
    AUTO_TYPE = VideoModel()


class DiskBusField(fields.BaseEnumField):
    AUTO_TYPE = DiskBus()


class SCSIModelField(fields.BaseEnumField):
    AUTO_TYPE = SCSIModel()


class VIFModelField(fields.BaseEnumField):
    AUTO_TYPE = VIFModel()


class PointerModelField(fields.BaseEnumField):
    AUTO_TYPE = PointerModel()


class InputBusField(fields.BaseEnumField):
    AUTO_TYPE = InputBus()


class ConsoleTypeField(fields.BaseEnumField):
    AUTO_TYPE = ConsoleType()


class RNGModelField(fields.BaseEnumField):
    AUTO_TYPE = RNGModel()


class OSTypeField(fields.BaseEnumField):
    AUTO_TYPE = OSType()


class StrictBooleanField(fields.AutoTypedField):
    AUTO_TYPE = StrictBoolean()


class UUIDField(fields.AutoTypedField):
    AUTO_TYPE = StrictUUID()
