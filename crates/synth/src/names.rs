//! Word lists for names. Fictional people, fictional company.

pub const FIRST: &[&str] = &[
    "Ana", "Bo", "Chen", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jia", "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya",
    "Quinn", "Rosa", "Sami", "Tariq", "Uma", "Viktor", "Wren", "Xavi", "Yara", "Zane", "Amara", "Bruno", "Clara", "Diego",
    "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca", "Maya", "Noor", "Oscar", "Paula", "Rafael", "Sofia",
    "Tomas", "Ulla", "Vera", "Wei", "Yusuf", "Zoe", "Aiko", "Ben", "Carmen", "Dmitri", "Esther", "Felix", "Gloria", "Hiro",
];

pub const LAST: &[&str] = &[
    "Lopez", "Chen", "Okafor", "Novak", "Singh", "Haddad", "Muller", "Tanaka", "Silva", "Kowalski", "Nguyen", "Rossi", "Ahmed",
    "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Kim", "Larsen", "Moreau", "Nakamura",
    "Olsen", "Petrov", "Quispe", "Reyes", "Sato", "Torres", "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Abe", "Bauer",
    "Cruz", "Diaz", "Evans", "Ferrari", "Gomez", "Horvat", "Ivanova", "Jovanovic", "Khan", "Lind", "Meyer", "Nilsen", "Ortiz",
];

pub const TEAM_WORDS: &[&str] = &[
    "payments", "ledger", "checkout", "search", "catalog", "identity", "messaging", "billing", "shipping", "pricing", "reporting",
    "analytics", "platform", "data", "mobile", "web", "growth", "fraud", "support", "inventory", "notifications", "ml", "infra",
    "observability", "security", "partners", "onboarding", "compliance", "media", "geo",
];

pub const COMPONENTS: &[&str] = &[
    "api", "worker", "scheduler", "ingest", "export", "etl", "gateway", "sync", "indexer", "consumer", "publisher", "cron",
    "backfill", "webhook", "reporting", "cache", "migrator", "processor",
];

pub const ENVS: &[&str] = &["prod", "staging", "dev"];
