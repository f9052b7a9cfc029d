"""Exceptions raised by emuvirt.

Like Nova's: each class carries a ``msg_fmt`` that is filled from the
keyword arguments given at raise time, so every message names the
property, option or argument at fault.
"""


class EmuvirtException(Exception):
    """Base exception; subclasses set ``msg_fmt``."""

    msg_fmt = "An unknown exception occurred."

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                # A missing keyword is a programming error; keep the
                # format string rather than hide the original problem.
                message = self.msg_fmt
        self.message = message
        super().__init__(message)

    def __str__(self):
        return self.message


class Invalid(EmuvirtException):
    msg_fmt = "Invalid input: %(reason)s"


class InvalidArchitectureName(Invalid):
    msg_fmt = ("Architecture name '%(arch)s' is not recognised "
               "(property or option %(name)s)")


class InvalidImageProperty(Invalid):
    msg_fmt = "Image property %(name)s: %(reason)s"


class KernelRequired(Invalid):
    msg_fmt = ("%(arch)s guests cannot boot without a kernel "
               "(%(reason)s): give the guest a kernel (emuvirt server "
               "create --kernel; Nova: image property kernel_id)")


class InvalidMachineType(Invalid):
    msg_fmt = ("Machine type '%(mtype)s' for %(arch)s is not offered by "
               "libvirt (from %(source)s); offered: %(offered)s")


class UnsupportedGraphics(Invalid):
    msg_fmt = ("Image property %(name)s=%(value)s is not supported for "
               "%(arch)s guests: %(reason)s")


class ConfigOptionInvalid(Invalid):
    msg_fmt = "Configuration option %(name)s: %(reason)s"


class ArchitectureNotSupported(Invalid):
    msg_fmt = ("Guest architecture %(arch)s cannot run on this host: "
               "%(reason)s")


class FirmwareNotFound(EmuvirtException):
    msg_fmt = ("No %(kind)s firmware found for %(arch)s guests "
               "(looked for %(paths)s)")


class DriverNotFound(EmuvirtException):
    msg_fmt = ("Compute driver '%(name)s' (option [DEFAULT]compute_driver) "
               "is not available; available drivers: %(available)s")


class HypervisorUnavailable(EmuvirtException):
    msg_fmt = "Connection to libvirt at %(uri)s failed: %(reason)s"


class InstanceNotFound(EmuvirtException):
    msg_fmt = "Instance %(instance)s could not be found."


class InstanceRecordBroken(EmuvirtException):
    """An emuvirt guest whose record cannot be read (``reason`` says why)."""

    msg_fmt = ("Instance %(instance)s (%(uuid)s) has an emuvirt record "
               "that cannot be read: %(reason)s")


class InstanceExists(EmuvirtException):
    msg_fmt = "Instance %(name)s already exists."


class InstanceInvalidState(EmuvirtException):
    msg_fmt = ("Instance %(instance)s is %(state)s; %(action)s needs it "
               "%(needed)s.")


class PlacementError(EmuvirtException):
    msg_fmt = "Placement request failed: %(reason)s"


class InvalidImage(Invalid):
    msg_fmt = "Image %(path)s: %(reason)s"


class InstanceDirectoryExists(EmuvirtException):
    msg_fmt = ("Instance directory %(path)s already exists; no guest of "
               "that UUID is defined, so it is left over: remove it")


class GuestOperationFailed(EmuvirtException):
    msg_fmt = "Could not %(action)s instance %(instance)s: %(reason)s"


class WaitTimeout(EmuvirtException):
    msg_fmt = "Timed out after %(seconds)s s waiting for %(what)s"
