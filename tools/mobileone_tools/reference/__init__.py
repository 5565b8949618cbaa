"""PyTorch reference of MobileOne, SSDLite and DeepLabv3 (see README.md here)."""
