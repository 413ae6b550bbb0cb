"""The ``ticketguard`` command line."""
