"""Ten model replies through /api/suggest, as a real model sends good ones: signed ^AI (it cannot know the agent's
initials), unsigned, behind a "Here's a reply:" preamble, in quotes, in the customer's language. Prints, for each,
what the agent got: engine, reply, sources and the number of model calls. Run it on two checkouts to compare:

    PYTHONPATH=. .venv/bin/python scripts/llm_before_after.py                       # this checkout
    cd OLD_CHECKOUT && PYTHONPATH=. NEW/.venv/bin/python NEW/scripts/llm_before_after.py   # an older one

The model is the loopback fake (tests/support/fake_llm.py of this script's checkout), answering each post with a
fixed reply written from the pack's knowledge articles, and the same reply again when asked to repair it (as
models do). The posts are written for this comparison, not taken from any data set used to tune anything.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
HERE = Path(__file__).resolve().parent.parent

# (post text, lang, the model's reply as it sends it)
CASES = [
    ("@AcmeShop what are your customer care hours on a Saturday?", "en",
     "Hi Kate! Our care team answers on Saturdays from 9am to 5pm (UK time), and Monday to Friday 8am to 8pm. ^AI"),
    ("@AcmeShop how long does standard delivery take in the UK and what does it cost?", "en",
     "Hi Kate, standard UK delivery takes 2 to 4 business days and is free on orders over £40; below that it costs "
     "£3.99."),
    ("@AcmeShop can I still return the blender I got 3 weeks ago? never used it", "en",
     "Here's a reply to the customer:\n\n\"Hi Kate, yes: you can return most items within 30 days of delivery, "
     "unused and in their original packaging. Returns are free with a prepaid label from Orders in your account.\""),
    ("@AcmeShop do your gift cards expire? got one for my birthday last year", "en",
     "Hi Kate, happy belated birthday! AcmeShop gift cards are valid for 24 months from the date they were bought, "
     "and you can check the balance in the app under Wallet. ^AC"),
    ("@AcmeShop where is my order?? it said dispatched yesterday", "en",
     "Reply: Hi Kate, sorry for the wait! We email a tracking link as soon as your order leaves our warehouse, and "
     "you can follow it any time under Orders in your AcmeShop account. ^AI"),
    ("@AcmeShop the password reset email never came, I've tried twice", "en",
     "  Kate, sorry about that!   The reset link can take a few minutes, so please check your spam folder too. "
     "It stays valid for 60 minutes.\n\n"),
    ("@AcmeShop Bonjour, puis-je retourner un article acheté il y a deux semaines ?", "fr",
     "Bonjour Kate, oui : vous pouvez retourner la plupart des articles dans les 30 jours suivant la livraison, non "
     "utilisés et dans leur emballage d'origine. Les retours sont gratuits. ^AI"),
    ("@AcmeShop my mixer arrived with a cracked bowl, really disappointed", "en",
     "Kate, I'm so sorry your mixer arrived damaged. Send us a photo and we'll send a replacement at no cost and "
     "collect the damaged one at a time that suits you."),
    ("@AcmeShop I need to change the delivery address on my order, I'm moving", "en",
     "Hi Kate, good luck with the move! You can change the delivery address from Orders in your account until the "
     "order is dispatched. [Your Name]"),
    ("@AcmeShop ¿cuál es vuestro horario de atención los domingos?", "es",
     "Hola Kate, los domingos nuestro equipo responde de 10:00 a 16:00 (hora del Reino Unido). ¡Gracias por "
     "escribirnos!"),
]


def _fake_module():
    spec = importlib.util.spec_from_file_location("fake_llm", HERE / "tests" / "support" / "fake_llm.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def _responder(body: dict) -> str:
    """The reply for whichever post is in the conversation (the repair turn gets the same reply again)."""
    text = " ".join(str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user")
    for post, _, reply in CASES:
        if post.split("@AcmeShop ", 1)[1][:30] in text:
            return reply
    return "Hi Kate, thanks for reaching out. ^AI"


def main() -> int:
    from server.app import create_app
    from server.config import Config

    fake_mod = _fake_module()
    base = json.loads((HERE / "tests" / "data" / "sample_posts.json").read_text())[0]
    with tempfile.TemporaryDirectory() as tmp, fake_mod.FakeLLM() as fake:
        fake.responder = _responder
        app = create_app(Config(data_dir=Path(tmp), llm_base_url=fake.url, llm_model="fake-model", llm_timeout=5))
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.config['REPLYDESK_TOKEN']}"
        kept = 0
        for i, (text, lang, raw) in enumerate(CASES, 1):
            post = {**base, "text": text, "lang": lang, "post_id": f"99{i:03d}", "url": f"{base['url']}{i}"}
            before = len(fake.requests)
            resp = client.post("/api/suggest", json={"post": post, "options": {"signature": "^KM"}})
            if resp.status_code == 400:  # a checkout whose post format has no `lang` yet
                post.pop("lang")
                resp = client.post("/api/suggest", json={"post": post, "options": {"signature": "^KM"}})
            out = resp.get_json()
            calls = len(fake.requests) - before
            kept += out.get("engine") == "openai"
            why = f" ({out['fallback_reason']}: {out.get('fallback_detail', '')})" if out.get("fallback_reason") else ""
            print(f"{i}. [{lang}] {text}")
            print(f"   model sent: {raw.strip()!r}")
            print(f"   agent got:  {out.get('engine')}{why}, {calls} model call(s), "
                  f"fixes {out.get('fixes', [])}, sources {[s['id'] for s in out.get('sources') or []]}")
            print(f"   reply:      {out.get('reply')!r}")
        print(f"\nmodel replies kept: {kept} of {len(CASES)}; model calls: {len(fake.requests)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
