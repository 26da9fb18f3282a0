"""The vocabulary the rules read a draft with: acknowledgement, own action, deflection, private data, links,
shouting, sentence and word boundaries, and the style cues behind the labels.

All compiled once at import (`rx` adds a first-character lookahead). Text is matched after curly quotes are
mapped to ' (same length, so spans stay valid).
"""
from __future__ import annotations

import re

from server.core.tone.rx import rx

# Acknowledgement (empathy or apology): what an upset customer needs before the fix.
_FEELING = r"(?:frustrat\w*|disappoint\w*|annoying|stressful|worrying|upsetting|inconvenien\w*|maddening|awful|rough)"
ACK_RE = rx(
    r"\b(?:sorry|apolog\w*|regret|understand(?:able|ably)?|i can see|i can imagine|i hear you|i know how"
    r"|i get (?:it|that|how|why)|(?:that|this|it)'?s not (?:ok(?:ay)?|acceptable|good enough|right|what we want"
    r"|the experience)|(?:that|this|it) is not (?:ok(?:ay)?|acceptable|good enough|right|what we want)"
    r"|not the experience|hate (?:that|to hear)|thanks? (?:you )?for (?:letting us know|flagging|telling us"
    r"|your patience|bearing with|reporting|raising|bringing)|appreciate (?:your patience|you (?:telling|letting"
    r"|flagging|bearing))|glad you told us|what a pain|oh no|that sounds|comes first"
    rf"|(?:how|so|really|must be|must have been|incredibly|very|truly|such an?|an?) {_FEELING}"
    r"|(?:that|this|it)(?:'s| is| was| must be) (?:so |really |very |incredibly |truly |super |such an? )?"
    rf"{_FEELING})\b"
)
APOLOGY_RE = rx(r"\b(?:sorry|apolog\w*|regret|pardon|forgive)\b")
SYMPATHY_RE = rx(
    r"\b(?:understand(?:able)?|i can see|i can imagine|i hear you|i know how|i get (?:it|that|how|why)|frustrat\w*"
    r"|disappoint\w*|annoying|stressful|worrying|upsetting|not (?:ok(?:ay)?|acceptable|good enough)"
    r"|not the experience|what a pain|oh no|that sounds|must (?:be|have been)|comes first|hate (?:that|to hear))\b"
)

# Own action: an answer, a fix, an ETA, or an invitation to a private channel the agent will pick up.
_DONE = r"(?:\w+ed|sent|made|put|set|got|taken|given|done|found|written|left|spoken|told|rung|brought|kept|paid)"
ACTION_RE = rx(
    rf"\b(?:(?:i|we)(?:'?ve| have) (?:just |now |already |personally |also )?{_DONE}"
    r"|(?:i'?m|i am|we'?re|we are) (?:now |currently |personally |already |also )?\w+ing"
    r"|i'?ll|i will|i'?m (?:going to|looking|checking|chasing|tracking|escalating|on it|sending|arranging|refunding"
    r"|processing|following|raising|booking|organising|organizing|issuing|adding|passing|sharing|happy to|here to)"
    r"|i'?ve (?:flagged|escalated|asked|passed|raised|sent|issued|refunded|arranged|booked|logged|opened|reported"
    r"|credited|cancell?ed|updated|reset|added|applied|checked|forwarded|shared|upgraded|chased|contacted|made|put"
    r"|requested|started|set|gone|looked|fixed|tracked|confirmed)"
    r"|we'?ll|we will|we'?re (?:working|looking|investigating|fixing|on it|checking|sending|aware|rolling|restoring"
    r"|open|here|happy to|refunding)|we are (?:working|looking|investigating|fixing|checking|sending|aware|open)"
    r"|we'?ve (?:flagged|escalated|fixed|sent|issued|refunded|arranged|credited|restored|updated|identified|found"
    r"|resolved|rolled|added|upgraded|reset|cancell?ed|passed|shared|checked|confirmed|made)"
    r"|let me|let'?s|here'?s (?:how|what|the|a|your)|you can (?:now|also|try|find|change|update|reset|get|use|tap"
    r"|click|go|return|cancel|track|see|pick|book|order|swap|exchange|collect|add|turn|switch|download|sign|log)"
    r"|(?:send|dm|message) us|send (?:us|me) a (?:dm|direct message|private message|pm|message)|dm (?:us|me)"
    r"|drop us a (?:dm|message|line)|pop us a (?:dm|message)|(?:check|see) your (?:dms?|inbox|messages)"
    r"|try (?:restarting|clearing|updating|logging|signing|reinstalling|again|turning|switching|resetting)"
    r"|go to|tap|click|head to|open (?:the|your)|within (?:\d+|an?|the next)|by (?:tomorrow|today|monday|tuesday"
    r"|wednesday|thursday|friday|saturday|sunday|end of|the end)|today|tomorrow|tonight|right now|this (?:morning"
    r"|afternoon|evening|week)|update|refund(?:ed)?|replacement|on (?:its|the) way|has been (?:sent|refunded|fixed"
    r"|restored|shipped|resolved|credited|upgraded|updated|cancell?ed|approved)|(?:is|are) (?:back|fixed|restored"
    r"|resolved|open|available|in stock|on sale|compatible|included|free)|it'?s (?:fixed|back|restored|resolved"
    r"|open|available|in stock|located)|opens? at|located|you'?ll find|you will find|yes,|yes!|yes\b|no,? (?:you|we|it)"
    r"|(?:is|are) on (?:\w+ )?(?:street|avenue|ave|road)|next to|pass (?:this|your|it) on|passed (?:this|your|it) on"
    r"|shared (?:this|your|it) with|will (?:pass|share|forward)|(?:keep|kept) you posted|post an update)\b"
)
# Pleasantries: what is left of a sentence after them is its substance (an answer), if any.
PLEASANTRY_RE = rx(
    r"\b(?:hi|hello|hey|hiya|dear|good (?:morning|afternoon|evening)|there|thanks|thank you|many thanks"
    r"|(?:so|very) much|for (?:reaching out|getting in touch|your (?:question|message|tweet|post|patience|feedback)"
    r"|asking|contacting us|the (?:kind words|question|message|feedback)|sharing|letting us know|the trouble"
    r"|the confusion|the wait|the delay|the inconvenience)|happy to help|glad to help|here to help|(?:good|great)"
    r" question|to hear (?:that|this|about)|about (?:this|that)|enjoy|talk soon|have a (?:great|good|lovely|nice) day"
    r"|anything else,? just ask|take care|best wishes|kind regards|regards|we appreciate it|appreciate it"
    r"|we'?re sorry|i'?m sorry|so sorry|really sorry|sorry)\b"
)
STOPWORDS = frozenset(
    "a an the and or but so to of in on at for with about from by is are was were be been it its this that these "
    "those i i'm i've we we're you your you're our us me my he she they them their there here just really very "
    "how what why as if".split())
# Sending the customer elsewhere.
DEFLECT_RE = rx(
    r"\b(?:please |you can |you'?ll need to |you need to |you will need to |you should |best to |try to )?"
    r"(?:contact|call|phone|ring|email|e-mail|visit|reach out to|get in touch with|speak to|talk to|ask|check|see"
    r"|refer to|consult|go through)\s+(?:our|the|your|a|an)?\s*(?:\w+\s+){0,2}?"
    r"(?:support|customer (?:service|care|support)|help ?desk|helpline|hotline|team|department|store|branch|bank"
    r"|carrier|courier|manufacturer|faq|faqs|website|site|help (?:cent(?:er|re)|page|section|article)|retailer"
    r"|supplier|seller|provider|agent|colleagues|(?:status|help|support|faq|contact|returns|tracking) page)\b"
    r"|\b(?:our|the) (?:\w+ )?(?:team|department|desk|partner|courier|bank) (?:handles|deals with|looks after"
    r"|is responsible for|can help)|\b(?:email|call|contact|ring|message|ask) (?:them|the courier|the bank)\b"
    r"|\b(?:that'?s|that is|this is) (?:a question|something) for\b"
    r"|\bnot something (?:we|i) (?:handle|deal with|can help)"
    r"|\b(?:we|i) (?:don'?t|do not|can'?t|cannot) (?:handle|deal with|help with) (?:that|this)\b"
)
DM_RE = rx(r"\b(?:dms?|d\.m\.|direct message|private message|pm|inbox|privately|in private|messenger"
           r"|secure (?:form|link|chat))\b")
PUBLIC_RE = rx(r"\b(?:reply (?:here|below|to this)|in the comments|below|publicly"
               r"|here in (?:the )?(?:thread|comments))\b")
NEGATION_RE = rx(r"\b(?:never|don'?t|do not|won'?t|will not|no need to|not|shouldn'?t|nobody|no one)\b")

# Privacy: secrets are never asked for (not even in DM); personal details only in private.
SECRET_ITEMS = (r"password|passcode|pin(?: (?:number|code))?|cvv|cvc|security (?:code|number|question|answer)"
                r"|(?:full |long )?card (?:number|details|no\.?)|credit card(?: (?:number|details))?|debit card number"
                r"|one[- ]time (?:code|password|passcode)|otp|verification code|login (?:details|credentials)"
                r"|social security(?: number)?|ssn|memorable (?:word|information)")
PERSONAL_ITEMS = (r"(?:(?:home|full|delivery|shipping|postal|billing|street|email|e-mail) )?address"
                  r"|post ?code|zip(?: code)?"
                  r"|(?:phone|mobile|cell|telephone|contact) (?:number|no\.?)|phone|mobile|email|e-mail"
                  r"|account (?:number|no\.?|details|info(?:rmation)?|id)|date of birth|dob|birthday|full name"
                  r"|sort code|iban|(?:bank|banking) details|order details|personal (?:details|info(?:rmation)?)"
                  r"|contact details|id (?:number|card)|passport(?: number)?|licen[cs]e number")
_ASK = (r"(?:send|share|give|provide|tell|post|reply with|include|confirm|type|enter|drop|leave|let (?:me|us) know"
        r"|what(?:'s| is| are| was)|which is|can (?:i|we) (?:have|get|grab|take)|could (?:i|we) (?:have|get|grab|take)"
        r"|may (?:i|we) (?:have|get|take)|need|pop|add|verify|list|write|put|comment|tweet|reply|dm|message"
        r"|forward|paste|remind (?:me|us) of|mind sharing)")
ASK_RE = rx(rf"\b{_ASK}\b")
SECRET_RE = rx(rf"\b(?:{SECRET_ITEMS})\b")
PERSONAL_RE = rx(rf"\b(?:{PERSONAL_ITEMS})\b(?!\s+(?:model|app|case|charger|screen|settings|we sent|you got))")
OWNER_RE = rx(r"\b(?:your|ur|the)\b")
EMAIL_RE = rx(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
PHONE_RE = re.compile(r"(?<![\w#-])(?:\+?\d[\d\s().-]{6,16}\d)(?![\w-])")
REFERENCE_BEFORE_RE = rx(r"(?:order|ref(?:erence)?|booking|confirmation|case|ticket|tracking|invoice|no\.?|number|#)"
                         r"\W{0,3}$")
CARD_RE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
STREET_RE = rx(r"\b\d{1,5}[a-z]?\s+(?:[A-Za-z]+\s+){1,3}(?:street|st|avenue|ave|road|rd|lane|ln|boulevard|blvd"
               r"|drive|dr|court|ct|way|place|pl|terrace|close|crescent|square|sq)\b\.?")
ACCOUNT_NO_RE = rx(r"\b(?:account|acct|a/c|iban|sort code)(?: (?:number|no\.?|#))?\s*:?\s*[A-Z]{0,4}\d[\d -]{5,}\d")

# Channel fit.
URL_RE = rx(r"\b(?<![@.])(?:https?://[^\s<>\"']+|www\.[^\s<>\"']+|(?:[a-z0-9-]+\.)+(?:com|net|org|io|co|ly|me|uk|us|de|fr|app"
            r"|info|biz|gov|edu|shop|store|help|support|example|page|link|gl|to|tv|ai|dev|ie|ca|au|in|eu)"
            r"(?:/[^\s<>\"']*)?)(?<![.,;:!?)])")
SHOUT_TOKEN_RE = re.compile(r"(?<![@#\w^/~-])[A-Z][A-Z']*[A-Z](?![\w@])")  # not @handles, #tags or ^KM
ACRONYMS = frozenset(
    "DM DMS ETA FAQ FAQS ASAP USA UK EU US ATM PIN SMS API URL ID OK CEO TV PC USB GPS NFC CVV FYI PS AM PM UTC GMT "
    "EST PST BST CET EDT PDT CST IOS APP VIP SIM PDF QR ZIP UPS DHL USPS FEDEX TNT EMI VAT GST HST IBAN BIC NHS BBC "
    "LOL IMO TBH BTW AKA DIY ISP WIFI LTE RMA SKU CSV HTML ATM DVD CD HD HDMI LED LCD OLED AC DC".split())
LETTER_RE = re.compile(r"[^\W\d_]")
UPPER_RE = re.compile(r"[A-Z\u00c0-\u00de]")
PILE_RE = re.compile(r"[!?]{2,}|(?:[!?]\s*){2,}[!?]")
EXCLAIM_RE = re.compile(r"!")
SENTENCE_RE = re.compile(r"(?:[^.!?\n]|[.!?]+(?=[^\s.!?]))+(?:[.!?]+|\n|$)")  # "." inside a URL does not end one
WORD_RE = re.compile(r"[A-Za-z][A-Za-z']*")
SIGNATURE_RE = re.compile(r"(?:^|[\s.!?,;:)])(?:\^\s?[A-Z][A-Za-z]{0,3}|[-–—~/]\s?[A-Z][A-Za-z]{0,15}"
                          r"(?: (?:[A-Z]\.?|at \w+|from \w+))?)\.?\s*$")
HANDLE_RE = re.compile(r"@\w+")

# Labels.
FORMAL_RE = rx(r"\b(?:kindly|regards|sincerely|assist(?:ance)?|ensure|furthermore|however|therefore|please be advised"
               r"|we apologi[sz]e|do not hesitate|at your earliest convenience|further|regarding|inconvenience"
               r"|dear|accordingly|thank you|apologies|require|request|provide|advise|confirm|receive)\b")
INFORMAL_RE = rx(r"\b(?:hey|hiya|yay|awesome|cool|gonna|wanna|gotta|yep|yup|nope|lol|omg|btw|tbh|haha\w*|woo+|super"
                 r"|totally|oops|whoops|ugh|fab|cheers)\b|!|:\)|:D|;\)")
CONTRACTION_RE = rx(r"\b\w+'(?:ll|re|ve|m|d|s|t)\b")
FRIENDLY_RE = rx(r"\b(?:hi|hello|hey|hiya|thanks|thank you|happy to|glad|great|love|enjoy|welcome|pleasure|awesome"
                 r"|wonderful|lovely|fantastic|brilliant|delighted|cheers|have a (?:great|good|lovely)|talk soon"
                 r"|made our day|any time|anytime)\b")
