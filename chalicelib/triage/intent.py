"""What a mention's author wants: ask, get a recommendation, complain, praise, buy, or leave.

Compiled patterns, English first with a few Spanish, Portuguese, German and French forms. A
mention can carry several intents. Complaint and praise also lean on the sentiment label, since
"the croissants were stale" is a complaint no list of phrases can enumerate.
docs/triage.md defines each intent with examples.
"""

from __future__ import annotations

import re

from chalicelib.model import Intent
from chalicelib.triage.sentiment import Sentiment, SentimentLabel, is_sarcastic, label_for
from chalicelib.triage.sentiment import sentiment as score_sentiment

INTENTS: tuple[Intent, ...] = (
    "question",
    "recommendation_request",
    "complaint",
    "praise",
    "purchase_intent",
    "churn",
)

# How far from neutral a post's sentiment must be to make it a complaint or praise without a telling phrase.
CLEAR_SENTIMENT = 0.5
# How far from neutral a post must lean for its tone to count at all; wider than the label's band (VADER's 0.05)
# because one mild word ("good", "hope") does not make a complaint into praise.
LEAN = 0.25


def _lean(sentiment: Sentiment) -> SentimentLabel:
    return label_for(sentiment.compound, LEAN)

_QUESTION_SENTENCE = re.compile(r"(?:^|(?<=[.!?\n]))[^.!?\n]*\?")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")

# Questions that complain or commiserate instead of asking.
_RHETORICAL = re.compile(
    r"^\W*(?:who needs|what happened|when did (?:this|that|it)|who is this\b.*\bfor|why (?:is|does|do|are) every"
    r"|seriously|really|are you kidding|how hard is it|anyone else (?:get|have|had|notice|seeing|experienc)"
    r"|.{0,30}, anyone\?$|.*\?\?|who does that|.*\bright\?$)",
    re.I,
)

# A request for information without a question mark.
_ASKING = re.compile(
    r"\b(?:does anyone know|anyone know|can (?:someone|anyone) (?:tell|explain|help)|looking for"
    r"|(?:^|(?<=[.!?\n] )|I )need (?:a|an|some)\b"
    r"|any (?:tips|advice|ideas|suggestions|recs?)\b"
    r"|anyone (?:have|got) (?:a |any )?(?:recs?|recommendations?|suggestions?)"
    r"|(?:please )?help me (?:find|choose|pick|decide)|point me (?:to|at)|tell me (?:where|which|what)"
    r"|where (?:can|should|do) (?:I|we) (?:find|get|go)|hit me with|drop (?:your|some) (?:recs?|favou?rites)"
    r"|(?:recs?|recommendations?|suggestions?|tips|ideas|advice|pointers) (?:are )?(?:welcome|appreciated|please)"
    r"|open to (?:recs?|recommendations?|suggestions?|ideas)"
    r"|(?:would|'d) (?:love|appreciate) (?:any |some )?(?:recs?|recommendations?|suggestions?|tips|advice|pointers))",
    re.I,
)

_RECOMMENDATION = re.compile(
    r"\b(?:recommend(?:ation)?s?|suggest(?:ion)?s?|alternatives? (?:to|for)|what(?:'s| is| are) (?:a |the )?"
    r"(?:good|best|decent)|which (?:would|should|do) (?:you|I) (?:pick|choose|use|get|go with)|what do you use"
    r"|what are (?:other|you) .{0,30}using|somewhere (?:else|better|closer)|anything (?:around|near|similar|like)"
    r"|any \w+(?: \w+)? like|looking for (?:a |an )?(?:library|app|tool|good|great|decent|shoe|bakery|caf[eé]|shop)"
    r"|what should (?:I|we) (?:use|get|try|buy|move to|switch to)|which \w+(?: \w+)? do you (?:all )?use"
    r"|recomend\w*|empfehl\w*|recommand\w*|recs?\b|(?:replacement|substitute) for"
    r"|(?:something|anything|somewhere|someone|anyone) (?:better|good|decent|reliable|cheaper|closer)"
    r"|need (?:a|an|some) (?:good|new|decent|reliable|cheap|better)|where (?:should|can|do) (?:I|we) (?:go|find|get)"
    r"|best \w+(?: \w+)? (?:for|in|near|around)\b"
    r"|is there (?:a|an|any) (?:good|decent|great|nice|reliable|cheap|cheaper|better|other|local|proper)\b"
    r"|any (?:other|cheaper|better) \w+"
    r"|where else\b|where (?:(?:in|around|near) \w+(?: \w+)? )?(?:can|could|should|do) (?:I|we|you|one)"
    r" (?:get|find|buy) (?:a|an|some|good|decent|proper|great|the best)\b"
    r"|(?:would|should|do|did) (?:you|I|we) (?:go with|go for|pick|choose|get|use|buy)\b[^?.!]{0,60}\bor\b"
    r"|which (?:one )?(?:is|would be) better)",
    re.I,
)

_COMPLAINT = re.compile(
    r"\b(?:refused|refund|still no|no (?:reply|response|answer)|charged (?:me )?(?:twice|extra|for|again)"
    r"|double.charged|broke(?:n)?|crash(?:es|ed|ing)?|segfault|fails?|failing|doesn'?t work|not working"
    r"|returns? 500|ignores?|wrong|rude|overpriced|too expensive|raised (?:the )?prices?|prices? (?:have |has )?gone up"
    r"|never again|not coming back|disappoint\w*|worse|dispute|logs? me out|logging me out|is down|down for"
    r"|waited|(?:so|too|really) slow|stale|burnt|lukewarm|(?:arrived|came|is|was|were|running|delivered) late"
    r"|dead|crushed|wilted|out of (?:milk|stock|croissants)"
    r"|falls? apart|fell apart|blisters|not impressed|a joke|removed|caps at|nickel and diming|cracked|snapped"
    r"|why (?:is|does|do|are) every|who is this .{0,30} for|who needs"
    r"|anyone else (?:get|have|had|notice|seeing|experienc\w*))\b",
    re.I,
)

# A sentence that reports something not doing what it should, whatever its words score: a thing that
# won't / can't / still doesn't work, arrive, reply or get fixed; a promise not kept; a fault that keeps coming back.
_FAILURE = re.compile(
    r"\b(?:(?:won'?t|can'?t|cannot|couldn'?t|doesn'?t|didn'?t|isn'?t|aren'?t|wasn'?t|weren'?t|haven'?t|hasn'?t"
    r"|never|unable to|not)(?: \w+)?"
    r" (?:work(?:ing|s)?|load(?:ing)?|open(?:ing)?|connect(?:ing)?|sync(?:ing)?|respond(?:ed|ing)?|arrived?"
    r"|received?|heard(?: back)?|fixed|resolved|accepted|delivered|replied|answered|refunded|showed up|turn(?:ing)? on"
    r"|install(?:ed|ing)?|update[sd]?|print(?:ing)?|send(?:ing)?|sav(?:e|ing)|upload(?:ing)?|play(?:ing)?"
    r"|log(?:ging)? ?in"
    r"|charg(?:e|ing))"
    r"|still (?:not|no\b|waiting|getting charged|broken|down|nothing|can'?t|won'?t|doesn'?t|haven'?t|hasn'?t)"
    r"|keeps? (?:on )?(?:crash|fail|freez|drop|disconnect|cancel|charg|log|kick|reset|com|happen|break)\w*"
    r"|(?:was|were|is|are) supposed to|(?:was|were) (?:told|promised)\b|hung up on|kicked (?:me|us) out"
    r"|error (?:code|message)|waste of (?:time|money)|what'?s the point|ripped (?:me |us )?off|scam(?:med)?\b"
    r"|unacceptable|no one (?:answers|replies|helps|picks up)|nobody (?:answers|replies|helps|picks up)"
    r"|(?:can'?t|cannot|unable to|won'?t) (?!wait|recommend|complain|believe|stop|go wrong|get enough|decide"
    r"|choose|pick|beat|resist|say enough|thank|praise|fault|lie|disappoint|regret|miss|break the bank|be beat)\w+"
    r"|(?:stopped|not|isn'?t|aren'?t|wasn'?t) (?:\w+ )?(?:working|loading|updating|powering|showing|syncing"
    r"|responding|charging|connecting|opening|starting|running|arriving|shipping|helpful)"
    r"|(?<!nothing )(?<!nothing is )(?<!nothing was )(?<!nothing's )missing|disappeared|vanished|been ignored"
    r"|on hold|waiting (?:for|on) (?:over|more than|\d)"
    r"|(?:an? |the |same |this |technical |network |login )(?:issues?|problems?)|glitch\w*|faulty|defective)",
    re.I,
)

# A question that complains by asking: "Why is my order still…", "Why won't…", "How come…", "What gives?" (after any
# @handles); "Why does sourdough need a starter?" only asks.
_COMPLAINING_QUESTION = re.compile(
    r"(?:^|[.!?\n]\s*)(?:[@#]\w+\s+)*(?:why (?:won'?t|can'?t|doesn'?t|isn'?t|aren'?t|hasn'?t|haven'?t|didn'?t)\b"
    r"|why (?:is|are|does|do|did|has|have) (?:my|our|you|your|it|this)\b"
    r"|how come\b|what gives\b|what'?s up with\b|what the (?:hell|fuck|heck)\b)",
    re.I,
)


def _reports_failure(text: str) -> bool:
    return bool(_FAILURE.search(text) or _COMPLAINING_QUESTION.search(text))


# Complaints clear enough to count even when the rest of the post sounds upbeat.
_COMPLAINT_STRONG = re.compile(
    r"\b(?:refused|charged (?:me )?twice|double.charged|returns? 500|raised (?:the )?prices?|(?:is|are) a joke"
    r"|used to be (?:so |really )?(?:great|good|amazing|my favou?rite)|fell apart|falls apart|not impressed"
    r"|never again|rude to|still no\b|(?:is|are|was) (?:so |really |too )?slow)",
    re.I,
)

# What a small business offers; a warm post about one of these is praise, a warm post about the weather is not.
_OFFER = re.compile(
    r"\b(?:service|staff|support|team|owner|barista|people|price[sd]?|quality|coffee|latte|espresso|cortado|brew"
    r"|blend|roast|pastr(?:y|ies)|bread|croissants?|buns?|loaf|cake|sourdough|shoes?|boots?|sneakers?|loafers"
    r"|pairs?|fit(?:ting)?|repairs?|plants?|box|subscription|packaging|app|feature|product|tool|invoic\w+|sync"
    r"|shop|store|caf[ée]|bakery|place|spot|selection|variety|section|delivery|replaced|fixed)\b",
    re.I,
)

_PRAISE = re.compile(
    r"\b(?:shout-?out|thank you|thanks|kudos|highly recommend|love (?:this|their|that|it|the|how)|best \w+"
    r"|(?:is|are|was|were) (?:so |really |absolutely )?(?:great|amazing|excellent|perfect|incredible|fantastic"
    r"|delicious|superb|wonderful)|10/10|no complaints|not bad|worth (?:it|the)|never looked back|me encanta"
        r"|recomendad[oa]|empfehlenswert|g[ée]niale?|excelente|maravilhos[ao]|beste[n]?"
    r"|(?:great|amazing|excellent|lovely|fantastic|wonderful|brilliant) (?:shop|store|service|place|staff|people"
    r"|product|app|coffee|bread|bakery|caf[eé]|team|support))\b",
    re.I,
)

# Praise written with words VADER reads as negative or neutral: it is praise whatever the score says.
_PRAISE_IDIOM = re.compile(
    r"\b(?:genius|killer (?!whales?|bees?|instinct)\w+|(?:is|are|was|were) killer"
    r"|(?!(?:I|he|she|we|they|you|kid|son|daughter|wife|husband|partner|dog|cat|mom)\b)\w+"
    r" (?:is|are|was|were|'s) (?:so |pretty |absolutely |honestly )?sick"
    r"|on (?:a |an )?(?:whole )?(?:other|another) level|next.level|no questions asked|never miss(?:es)?"
    r"|(?:dangerously|stupidly|ridiculously|insanely|sinfully|criminally|unreasonably)"
    r" (?:good|fast|tasty|delicious|cheap)"
    r"|to die for|comfy|converted|got it right|everyone loved|beautiful work|lasted \d+ years"
    r"|at (?:a|one) (?:third|half|fraction) of the (?:cost|price)|that'?s how you keep|die beste)",
    re.I,
)

_PURCHASE = re.compile(
    r"\b(?:(?:going|want|ready|planning|plan|about) to (?:buy|order|grab|get|pick up|start|sign up|subscribe|pay|try)"
    r"|(?:I'?ll|I will|gonna) (?:order|buy|grab|get|pick up|stop by|sign up|subscribe)"
    r"|thinking (?:about|of) (?:buying|getting|ordering|signing up|subscribing|a\b)"
    r"|where (?:can|do) I (?:buy|get|order)"
    r"|take my money|sign(?:ing|ed)? up for|ordering|picking up|heading to .{0,40}\bbuy|(?:just )?paid for"
    r"|need (?:a )?new \w+|saving (?:up )?for|next on my (?:list|wish ?list)|on my (?:wish ?list|shopping list)"
    r"|just (?:upgraded|renewed|bought"
    r"|ordered|subscribed|picked up)|adding .{0,40} to my list|I'?m sold|can'?t wait to try|gift (?:card|box)"
    r"|voy a comprar|vou comprar|quiero comprar|quero comprar|ich (?:werde|will) .{0,30}kaufen|je vais acheter)\b",
    re.I,
)

_CHURN = re.compile(
    r"(?:(?:^|(?<=[.!?\n] )|\b(?:I|we|I'?ve|we'?ve|I'?m|we'?re|just|finally) )switch(?:ed|ing)? (?:from|to|over|our|my)"
    r"|\b(?:moving (?:away )?from|moved (?:away )?from|(?:I'?m|we'?re) moving to|exported everything"
    r"|migrat(?:ed|ing) (?:from|to|away)|ditch(?:ed|ing)|quit(?:ting)?\b"
    r"|(?<!keeps )(?<!keep )(?<!they )(?<!it )cancel(?:l)?(?:ed|ing)?\b"
    r"|switched (?:for good|back)"
    r"|(?:leaving|left) \w+(?: \w+)? (?:after|for)"
    r"|(?:^|(?<=[.!?\n] ))(?:I'?m |we'?re )?done with|going back to|gave up on|giving up on|no longer using"
    r"|exporting everything|cambi[ée] (?:de|a)|mudei (?:de|para)|gewechselt|j'ai quitt[ée]"
    r"|moving off|switch(?:ed|ing)? (?:away )?from|(?:I'?m|we'?re|am|are) (?:leaving|done with)"
    r"|leaving \w+(?: \w+)? (?:because|over|due to)"
    r"|(?:not|won'?t be|aren'?t|am not|I'?m not|we'?re not) renewing"
    r"|(?:closed|deleted|cancel\w*) (?:my|our)(?: \w+)? account"
    r"|(?:I'?ve|we'?ve|I|we) (?:started |now |'?ll |will |just )?(?:going|go|taking|take|using|use|buying|buy"
    r"|getting|get|ordering|order|shopping|shop)\b[^.!?\n]{0,60}\binstead\b))",
    re.I | re.M,
)


def _questions(text: str) -> list[str]:
    return [q.strip() for q in _QUESTION_SENTENCE.findall(text) if not _RHETORICAL.search(q.strip())]


def _only_questions(text: str) -> bool:
    # A post that only asks carries no verdict of its own, whatever words its question uses; a rhetorical one does.
    statements = _QUESTION_SENTENCE.sub(lambda q: q.group(0) if _RHETORICAL.search(q.group(0).strip()) else "", text)
    return not statements.strip(" \n\t.!")


def intents(text: str, sentiment: Sentiment) -> frozenset[Intent]:
    """Intents of a post.

    In: the post's plain text (title included by the caller if wanted) and its sentiment.
    Out: zero or more of INTENTS; a recommendation request is always a question too.
    """
    found: set[Intent] = set()
    questions = _questions(text)
    if questions or _ASKING.search(text):
        found.add("question")
        asking = [sentence for sentence in _SENTENCE.findall(text) if _ASKING.search(sentence)]
        if _RECOMMENDATION.search(" ".join([*questions, *asking]) if questions or asking else text):
            found.add("recommendation_request")
    if _PURCHASE.search(text):
        found.add("purchase_intent")
    if _CHURN.search(text):
        found.add("churn")
    if _only_questions(text) and not _reports_failure(text):
        return frozenset(found)
    if _is_complaint(text, sentiment, churn="churn" in found):
        found.add("complaint")
    if _is_praise(
        text, sentiment, asking_or_buying=bool(found & {"question", "purchase_intent"}), complaint="complaint" in found
    ):
        found.add("praise")
    return frozenset(found)


def _statements(text: str) -> str:
    # What a post says rather than asks: "is it worth it?" praises nothing, "what's the best spot?" neither.
    return _QUESTION_SENTENCE.sub(" ", text)


def _is_complaint(text: str, sentiment: Sentiment, *, churn: bool = False) -> bool:
    if is_sarcastic(text) or _COMPLAINT_STRONG.search(text):
        return True
    if _PRAISE_IDIOM.search(text):
        return False
    if sentiment.compound <= -CLEAR_SENTIMENT:
        return True
    # Someone leaving without a kind word is leaving for a reason.
    if churn and _lean(sentiment) == "negative" and not _PRAISE.search(_statements(text)):
        # The reason, not the leaving word ("cancelled" alone scores negative): score the post without it.
        reason = score_sentiment(_CHURN.sub(" ", text))
        if _lean(reason) == "negative":
            return True
    return _lean(sentiment) != "positive" and (_COMPLAINT.search(text) is not None or _reports_failure(text))


def _is_praise(text: str, sentiment: Sentiment, *, asking_or_buying: bool, complaint: bool) -> bool:
    if is_sarcastic(text):
        return False
    if _PRAISE_IDIOM.search(text):
        return True
    if _lean(sentiment) == "negative":
        return False
    statements = _statements(text)
    if _PRAISE.search(statements):
        return True
    # Someone asking, buying or complaining sounds upbeat without praising: only a telling phrase counts.
    if asking_or_buying or complaint:
        return False
    return sentiment.compound >= CLEAR_SENTIMENT or (
        _lean(sentiment) == "positive" and _OFFER.search(statements) is not None
    )
