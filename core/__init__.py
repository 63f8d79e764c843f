"""The shared kernel every app builds on: it imports no other package of the product."""

from importlib.metadata import version

__version__ = version("provisioning-manager")
