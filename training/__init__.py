"""Data pipeline, fine-tuning, calibration and evaluation for TicketGuard models."""
