"""Jinlin 近邻: an async backend for urban community governance."""

__version__ = "0.1.0"
