import warnings

# oslo.versionedobjects imports oslo.messaging, which imports oslo.service's
# eventlet backend at import time; emuvirt uses no eventlet, so its
# deprecation notice is only noise on every command.
warnings.filterwarnings('ignore', message='\\s*Eventlet is deprecated')
