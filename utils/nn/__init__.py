"""Layers with PyTorch's names, argument order, weight layouts and defaults."""
from .module import Module, Parameter, count_parameters
