"""formcheck: rep-by-rep back and hip form checks for squats and deadlifts."""

__version__ = "0.1.0"
