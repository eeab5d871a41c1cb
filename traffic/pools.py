"""Value pools that make payloads look (and weigh) like the real thing: ~1.5 KB a feature event.

Each entry is a ready JSON fragment, ASCII only (non-ASCII text is \\u-escaped, as many SDKs do).
Repeated entries weight a pool.
"""

from __future__ import annotations

ACTIONS = ("used",) * 7 + ("opened", "created", "clicked")
SOURCES = ("toolbar", "toolbar", "shortcut", "context_menu", "slash_command", "sidebar", "fab", "command_palette")
SURFACES = ("doc_editor", "doc_editor", "board_view", "task_list", "chat_panel", "home", "search_results")
PLANS = ("free", "team", "business", "enterprise")  # indexed by the workspace's plan
SEATS = ("member", "member", "member", "admin", "guest", "owner")
REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-east-1", "us-west-2", "ap-southeast-1")
LOCALES = ("en-US", "en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "ja-JP", "pt-BR", "nl-NL", "en-IN")
REFERRERS = (
    "https://app.novasuite.com/home", "https://app.novasuite.com/search?q=roadmap",
    "https://mail.google.com/", "https://app.slack.com/client/T024BE7LD/C01A2B3C4D5",
    "https://app.novasuite.com/w/recent", "",
)
TITLES = (
    "Q4 planning \\u2013 NovaSuite", "Roadmap 2027 \\u2013 NovaSuite", "Sprint 48 retro \\u2013 NovaSuite",
    "Caf\\u00e9 launch checklist \\u2013 NovaSuite", "\\u00dcberblick Vertrieb \\u2013 NovaSuite",
    "Onboarding guide \\u2013 NovaSuite", "Incident review INC-2291 \\u2013 NovaSuite",
    "Design system tokens \\u2013 NovaSuite",
)
EXPERIMENTS = (
    '[{"id":"exp_ribbon_v2","variant":"treatment"},{"id":"exp_ai_sidebar","variant":"control"}]',
    '[{"id":"exp_ribbon_v2","variant":"control"},{"id":"exp_smart_paste","variant":"treatment"},'
    '{"id":"exp_onboarding_tour_2026","variant":"b"}]',
    '[{"id":"exp_ai_sidebar","variant":"treatment"}]',
    '[]',
    '[{"id":"exp_new_share_dialog","variant":"treatment"},{"id":"exp_dark_default","variant":"control"}]',
)
UI_PREFS = (
    '{"theme":"dark","density":"compact","sidebar":"expanded","zoom":1.1,"reducedMotion":false}',
    '{"theme":"light","density":"comfortable","sidebar":"collapsed","zoom":1.0,"reducedMotion":false}',
    '{"theme":"system","density":"comfortable","sidebar":"expanded","zoom":1.25,"reducedMotion":true}',
)
NETWORKS = (
    '{"type":"wifi","cellular":null,"vpn":false,"metered":false}',
    '{"type":"cellular","cellular":"5g","vpn":false,"metered":true}',
    '{"type":"cellular","cellular":"lte","vpn":true,"metered":true}',
    '{"type":"wifi","cellular":null,"vpn":true,"metered":false}',
)
BROWSERS = (
    '"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) '
    'Chrome/131.0.0.0 Safari/537.36","screen":{"width":1728,"height":1117,"density":2},'
    '"os":{"name":"Mac OS X","version":"10.15.7"},"browser":{"name":"Chrome","version":"131.0.6778.86"},'
    '"network":{"effectiveType":"4g","rtt":50,"downlink":10}',
    '"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
    'Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0","screen":{"width":1920,"height":1080,"density":1},'
    '"os":{"name":"Windows","version":"10"},"browser":{"name":"Edge","version":"130.0.2849.80"},'
    '"network":{"effectiveType":"4g","rtt":100,"downlink":6.3}',
    '"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",'
    '"screen":{"width":2560,"height":1440,"density":1},"os":{"name":"Windows","version":"10"},'
    '"browser":{"name":"Firefox","version":"132.0"},"network":{"effectiveType":"4g","rtt":0,"downlink":0}',
    '"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) '
    'Version/18.1 Safari/605.1.15","screen":{"width":1512,"height":982,"density":2},'
    '"os":{"name":"Mac OS X","version":"10.15.7"},"browser":{"name":"Safari","version":"18.1"},'
    '"network":{"effectiveType":"unknown","rtt":null,"downlink":null}',
    '"userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) '
    'Chrome/129.0.0.0 Safari/537.36","screen":{"width":3840,"height":2160,"density":1.5},'
    '"os":{"name":"Linux","version":"x86_64"},"browser":{"name":"Chrome","version":"129.0.6668.100"},'
    '"network":{"effectiveType":"4g","rtt":50,"downlink":10}',
)
IOS_DEVICES = (
    '"os":{"name":"iOS","version":"18.1"},"device":{"model":"iPhone16,2","manufacturer":"Apple",'
    '"type":"phone","screen":{"width":1290,"height":2796,"scale":3},"carrier":"Verizon","lowPowerMode":false,'
    '"storageFreeMb":48211,"idfvHash":"c1f4e2d0a9b8"}',
    '"os":{"name":"iOS","version":"17.6.1"},"device":{"model":"iPhone14,5","manufacturer":"Apple",'
    '"type":"phone","screen":{"width":1170,"height":2532,"scale":3},"carrier":"Vodafone DE","lowPowerMode":true,'
    '"storageFreeMb":9320,"idfvHash":"77ab01e3f2c4"}',
    '"os":{"name":"iPadOS","version":"18.0"},"device":{"model":"iPad13,18","manufacturer":"Apple",'
    '"type":"tablet","screen":{"width":2360,"height":1640,"scale":2},"carrier":null,"lowPowerMode":false,'
    '"storageFreeMb":102400,"idfvHash":"0b9e8d7c6a5f"}',
)
ANDROID_DEVICES = (
    '"device":{"manufacturer":"samsung","model":"SM-S918B","osVersion":"14","apiLevel":34,'
    '"screen":{"width":1440,"height":3088,"density":3.0},"carrier":"T-Mobile","batteryLevel":0.64,'
    '"isTablet":false,"abi":"arm64-v8a"}',
    '"device":{"manufacturer":"Google","model":"Pixel 8","osVersion":"15","apiLevel":35,'
    '"screen":{"width":1080,"height":2400,"density":2.625},"carrier":"Orange F","batteryLevel":0.31,'
    '"isTablet":false,"abi":"arm64-v8a"}',
    '"device":{"manufacturer":"Xiaomi","model":"2201117TG","osVersion":"13","apiLevel":33,'
    '"screen":{"width":1080,"height":2400,"density":2.75},"carrier":"Jio 4G","batteryLevel":0.88,'
    '"isTablet":false,"abi":"arm64-v8a"}',
)
# Backend: the first two services still send schema_version 1 (traffic.V1_SERVICES).
SERVICES = (
    "files-legacy", "reporting-batch", "docs-api", "boards-api", "tasks-service", "chat-gateway",
    "calendar-sync", "search-indexer", "integrations-hub", "admin-console", "notifications-dispatcher",
    "api-gateway",
)
ROUTES = (
    "/v2/documents/{id}", "/v2/boards/{id}/cards", "/v2/tasks", "/v2/webhooks", "/v2/search",
    "/v2/workspaces/{id}/members", "/v2/exports", "/v2/calendar/events", "/v1/files/{id}/content",
)
API_CLIENTS = (
    '{"sdk":"nova-python","version":"2.3.1","userAgent":"NovaSuite-API-Client/2.3.1 python-requests/2.32.3"}',
    '{"sdk":"nova-node","version":"5.0.0","userAgent":"NovaSuite-API-Client/5.0.0 node/22.11.0"}',
    '{"sdk":"zapier","version":"1.8.0","userAgent":"Zapier/1.8 (+https://zapier.com)"}',
    '{"sdk":"web-app","version":"2026.11.20","userAgent":"NovaSuite-Web-BFF/2026.11.20"}',
)
JOBS = ("nightly-digest", "retention-sweeper", "search-reindex", "usage-rollup", "webhook-redelivery")
# Out-of-scope event names per platform (web, ios, android, backend).
OTHER_EVENTS = (
    ("Document Opened", "Search Performed", "Signed In"),
    ("screen_view", "app_open"),
    ("screen_view", "app_background"),
    ("document.created", "billing.invoice_paid"),
)
FLAGS = (
    '["new-share-dialog","ai-sidebar","smart-paste","realtime-cursors-v3","comments-inline-v2",'
    '"board-virtualization","offline-sync-v2","search-semantic-ranking"]',
    '["ai-sidebar","realtime-cursors-v3","export-queue-v2","calendar-two-way-sync","tasks-bulk-edit",'
    '"notifications-digest-v2"]',
    '["new-share-dialog","board-virtualization","editor-collab-presence","kanban-wip-limits",'
    '"search-semantic-ranking","doc-outline-panel","templates-gallery-v3"]',
    '["realtime-cursors-v3","offline-sync-v2","mobile-quick-capture","push-batching","editor-collab-presence"]',
)
SCOPES = (
    '["docs:read","docs:write","boards:read"]', '["docs:read"]',
    '["tasks:read","tasks:write","webhooks:manage","workspace:read"]', '["admin:read","audit:read"]',
)
# Constant tails a Segment-style SDK adds to every web call.
WEB_TAIL = (
    '"integrations":{"All":true,"Amplitude":false,"Intercom":false,"Nova Warehouse":true},'
    '"_metadata":{"bundled":["Segment.io","Nova Warehouse"],"unbundled":["Intercom"],"bundledIds":[]}'
)
INSTALL_SOURCES = ("AppStore", "AppStore", "TestFlight", "MDM")
