"""Intercom: a conversation tag and conversation custom attributes (developers.intercom.com, API 2.11).

``POST /conversations/{id}/tags`` with ``{"id": <tag id>, "admin_id": ...}`` attaches the label's tag
(Intercom tags by id; create one tag per label and configure ``tag_ids``); ``PUT /conversations/{id}``
with ``{"custom_attributes": {...}}`` sets the label and band attributes. Bearer access token.
"""

from __future__ import annotations

from ticketguard.service.settings import IntercomWriteback
from ticketguard.service.writeback.base import HttpCall, WriteRequest

API_VERSION = "2.11"


class IntercomWriter:
    name = "intercom"

    def __init__(self, config: IntercomWriteback) -> None:
        self.config = config
        self.base_url = config.url()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.access_token.get_secret_value()}",
                "Intercom-Version": API_VERSION, "Accept": "application/json"}

    def calls(self, request: WriteRequest) -> list[HttpCall]:
        attributes = {self.config.label_attribute: request.label}
        if self.config.band_attribute:
            attributes[self.config.band_attribute] = request.band
        calls = [HttpCall("PUT", f"/conversations/{request.ticket_id}", {"custom_attributes": attributes})]
        tag_id = self.config.tag_ids.get(request.label)
        if tag_id and request.new_label:
            calls.append(HttpCall("POST", f"/conversations/{request.ticket_id}/tags",
                                  {"id": tag_id, "admin_id": self.config.admin_id}))
        return calls
