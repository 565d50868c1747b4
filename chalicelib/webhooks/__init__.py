"""Webhooks: deliveries a network pushes (Meta's Instagram and Page webhooks), verified before
anything else, stored once and alerted in the same invocation.

``signature`` holds the pure checks (Meta's subscription handshake, ``X-Hub-Signature-256``);
``service.WebhookService`` answers the two routes app.py wires (``GET``/``POST /hooks/{network}``).
"""
