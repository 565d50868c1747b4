"""The web layer of the action links: the token check, the confirmation pages, performing an
action once (its nonce held while it runs, spent when it succeeded), the forms, the reply
composer, the digest page and the rendering. What each action does is its module in
``chalicelib.actions``; ``ActionService`` (``chalicelib.web.service``) is what the API's routes call."""
