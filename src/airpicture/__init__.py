"""airpicture: one allied air picture from many nations' sensors."""

__version__ = "0.1.0"
