"""Freshdesk: custom drop-down ticket fields via ``PUT /api/v2/tickets/{id}``, a private note via
``POST /api/v2/tickets/{id}/notes`` (developers.freshdesk.com/api). No tags: Freshdesk's ``tags``
replaces the whole list. Basic auth with the API key as user name and ``X`` as password.
"""

from __future__ import annotations

import base64

from ticketguard.service.settings import FreshdeskWriteback
from ticketguard.service.writeback.base import HttpCall, WriteRequest, note_text


class FreshdeskWriter:
    name = "freshdesk"

    def __init__(self, config: FreshdeskWriteback) -> None:
        self.config = config
        self.base_url = config.url()

    def headers(self) -> dict[str, str]:
        credentials = f"{self.config.api_key.get_secret_value()}:X"
        return {"Authorization": "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")}

    def calls(self, request: WriteRequest) -> list[HttpCall]:
        fields = {self.config.label_field: request.label}
        if self.config.band_field:
            fields[self.config.band_field] = request.band
        calls = [HttpCall("PUT", f"/api/v2/tickets/{request.ticket_id}", {"custom_fields": fields})]
        if request.new_label and request.label in self.config.note_labels:
            calls.append(HttpCall("POST", f"/api/v2/tickets/{request.ticket_id}/notes",
                                  {"body": note_text(request), "private": True}))
        return calls
