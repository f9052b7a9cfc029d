"""Typed objects for the libvirt guest domain XML.

One small class per element; ``format_dom()`` builds an lxml element and
``to_xml()`` serialises it, so the driver never handles raw XML strings.
Attributes left as None are simply not written.
"""

import dataclasses
import typing

from lxml import etree


def _el(tag, text=None, **attrs):
    """Build an element, dropping attributes whose value is None."""
    node = etree.Element(tag, {k: str(v)
                               for k, v in attrs.items() if v is not None})
    if text is not None:
        node.text = str(text)
    return node


def _sub(parent, tag, text=None, **attrs):
    node = _el(tag, text, **attrs)
    parent.append(node)
    return node


class ConfigObject:
    """Base of every XML config object."""

    def format_dom(self):
        raise NotImplementedError()

    def to_xml(self, pretty_print=True):
        return etree.tostring(self.format_dom(), encoding='unicode',
                              pretty_print=pretty_print)


@dataclasses.dataclass
class GuestDisk(ConfigObject):
    source_path: str
    target_dev: str
    target_bus: str
    device: str = 'disk'
    driver_type: str = 'qcow2'
    readonly: bool = False

    def format_dom(self):
        disk = _el('disk', type='file', device=self.device)
        _sub(disk, 'driver', name='qemu', type=self.driver_type)
        _sub(disk, 'source', file=self.source_path)
        _sub(disk, 'target', dev=self.target_dev, bus=self.target_bus)
        if self.readonly:
            _sub(disk, 'readonly')
        return disk


@dataclasses.dataclass
class GuestController(ConfigObject):
    type: str
    model: str = None
    index: int = None

    def format_dom(self):
        return _el('controller', type=self.type, index=self.index,
                   model=self.model)


@dataclasses.dataclass
class GuestCharDevice(ConfigObject):
    """A ``<serial>`` or ``<console>``.

    ``type`` is the host side (``pty`` or ``file``); ``target_type`` the
    guest side (``sclp``, ``sclplm``, ``serial``...) or None to let libvirt
    choose the arch's default; ``log_path`` keeps a copy of the output.
    """

    tag: str
    type: str = 'pty'
    target_type: str = None
    target_port: int = 0
    source_path: str = None
    log_path: str = None

    def format_dom(self):
        dev = _el(self.tag, type=self.type)
        if self.source_path:
            _sub(dev, 'source', path=self.source_path)
        if self.log_path:
            _sub(dev, 'log', file=self.log_path, append='on')
        _sub(dev, 'target', type=self.target_type, port=self.target_port)
        return dev


# The virtio-serial port name the QEMU guest agent listens on.
QEMU_GUEST_AGENT = 'org.qemu.guest_agent.0'


@dataclasses.dataclass
class GuestChannel(ConfigObject):
    """A virtio-serial port on a unix socket libvirt names itself."""

    name: str

    def format_dom(self):
        channel = _el('channel', type='unix')
        _sub(channel, 'target', type='virtio', name=self.name)
        return channel


@dataclasses.dataclass
class GuestGraphics(ConfigObject):
    type: str
    listen: str = '127.0.0.1'

    def format_dom(self):
        gfx = _el('graphics', type=self.type, autoport='yes',
                  listen=self.listen)
        _sub(gfx, 'listen', type='address', address=self.listen)
        return gfx


@dataclasses.dataclass
class GuestVideo(ConfigObject):
    model: str
    vram_kib: int = None

    def format_dom(self):
        video = _el('video')
        _sub(video, 'model', type=self.model, vram=self.vram_kib)
        return video


@dataclasses.dataclass
class GuestInput(ConfigObject):
    type: str
    bus: str

    def format_dom(self):
        return _el('input', type=self.type, bus=self.bus)


@dataclasses.dataclass
class GuestInterface(ConfigObject):
    """A NIC: ``type`` is ``network`` (with ``network``) or ``user``."""

    type: str
    model: str
    network: str = None
    mac: str = None
    #: its slot on PCI bus 0; None lets libvirt choose
    pci_slot: int = None

    def format_dom(self):
        nic = _el('interface', type=self.type)
        if self.mac:
            _sub(nic, 'mac', address=self.mac)
        if self.network:
            _sub(nic, 'source', network=self.network)
        _sub(nic, 'model', type=self.model)
        if self.pci_slot is not None:
            _sub(nic, 'address', type='pci', domain='0x0000', bus='0x00',
                 slot='0x%02x' % self.pci_slot, function='0x0')
        return nic


@dataclasses.dataclass
class GuestRng(ConfigObject):
    model: str = 'virtio'
    backend: str = '/dev/urandom'

    def format_dom(self):
        rng = _el('rng', model=self.model)
        _sub(rng, 'backend', self.backend, model='random')
        return rng


@dataclasses.dataclass
class GuestMemballoon(ConfigObject):
    model: str = 'none'

    def format_dom(self):
        return _el('memballoon', model=self.model)


@dataclasses.dataclass
class GuestCPU(ConfigObject):
    """``mode`` is custom, maximum, host-model or host-passthrough."""

    mode: str
    model: str = None

    def format_dom(self):
        if self.mode == 'custom':
            cpu = _el('cpu', mode='custom', match='exact', check='none')
            _sub(cpu, 'model', self.model, fallback='forbid')
            return cpu
        return _el('cpu', mode=self.mode)


@dataclasses.dataclass
class GuestFeature(ConfigObject):
    """A child of ``<features>``; ``children`` are (tag, text, attrs)."""

    name: str
    attrs: dict = dataclasses.field(default_factory=dict)
    children: tuple = ()

    def format_dom(self):
        feature = _el(self.name, **self.attrs)
        for tag, text, attrs in self.children:
            _sub(feature, tag, text, **attrs)
        return feature


@dataclasses.dataclass
class GuestOS(ConfigObject):
    arch: str
    machine: str
    type: str = 'hvm'
    loader: str = None
    loader_type: str = None
    loader_readonly: bool = True
    loader_secure: bool = None
    nvram: str = None
    nvram_template: str = None
    kernel: str = None
    initrd: str = None
    cmdline: str = None
    boot_devs: tuple = ()
    boot_menu: bool = False

    def format_dom(self):
        os_ = _el('os')
        _sub(os_, 'type', self.type, arch=self.arch, machine=self.machine)
        if self.loader:
            secure = None
            if self.loader_secure is not None:
                secure = 'yes' if self.loader_secure else 'no'
            _sub(os_, 'loader', self.loader, type=self.loader_type,
                 readonly='yes' if self.loader_readonly else 'no',
                 secure=secure)
        if self.nvram:
            _sub(os_, 'nvram', self.nvram, template=self.nvram_template)
        if self.kernel:
            _sub(os_, 'kernel', self.kernel)
        if self.initrd:
            _sub(os_, 'initrd', self.initrd)
        if self.cmdline:
            _sub(os_, 'cmdline', self.cmdline)
        for dev in self.boot_devs:
            _sub(os_, 'boot', dev=dev)
        if self.boot_menu:
            _sub(os_, 'bootmenu', enable='yes')
        return os_


@dataclasses.dataclass
class GuestConfig(ConfigObject):
    """The whole ``<domain>``."""

    virt_type: str
    name: str
    uuid: str
    memory_mib: int
    vcpus: int
    os: GuestOS
    emulator: str = None
    metadata: typing.Any = None
    cpu: GuestCPU = None
    features: list = dataclasses.field(default_factory=list)
    devices: list = dataclasses.field(default_factory=list)
    on_poweroff: str = 'destroy'
    on_reboot: str = 'restart'
    on_crash: str = 'destroy'

    def format_dom(self):
        dom = _el('domain', type=self.virt_type)
        _sub(dom, 'name', self.name)
        _sub(dom, 'uuid', self.uuid)
        if self.metadata is not None:
            _sub(dom, 'metadata').append(self.metadata)
        _sub(dom, 'memory', self.memory_mib, unit='MiB')
        _sub(dom, 'vcpu', self.vcpus)
        dom.append(self.os.format_dom())
        if self.features:
            feats = _sub(dom, 'features')
            for feature in self.features:
                feats.append(feature.format_dom())
        if self.cpu:
            dom.append(self.cpu.format_dom())
        _sub(dom, 'on_poweroff', self.on_poweroff)
        _sub(dom, 'on_reboot', self.on_reboot)
        _sub(dom, 'on_crash', self.on_crash)
        devices = _sub(dom, 'devices')
        if self.emulator:
            _sub(devices, 'emulator', self.emulator)
        for device in self.devices:
            devices.append(device.format_dom())
        return dom

    def devices_of(self, kind):
        return [d for d in self.devices if isinstance(d, kind)]
