#!/usr/bin/env python3
"""Writes N realistic appeals as JSON Lines (seeded, reproducible).

usage: gen_appeals.py N [SEED] > appeals.jsonl
"""
import json
import random
import sys

FIRST = ["Gulnora", "Rustam", "Dilshod", "Malika", "Sherzod", "Nodira",
         "Aziz", "Kamola", "Jasur", "Feruza", "Oybek", "Zarina"]
LAST = ["Eshmatova", "Gʻulomov", "Toshmatov", "Qodirova", "Yoʻldoshev",
        "Karimova", "Rahimov", "Nazarova", "Ismoilov", "Saidova"]
CYR_FIRST = ["Гулнора", "Рустам", "Дилшод", "Малика", "Шерзод", "Нодира"]
CYR_LAST = ["Эшматова", "Гуломов", "Тошматов", "Кодирова", "Юлдашев"]
PLACES = ["Novosibirsk, SIZO-1", "Moscow, Sakharovo migrant centre",
          "Yekaterinburg, IK-2", "Almaty", "Istanbul, Zeytinburnu",
          "Seoul, Ansan", "Kazan, construction site 14", "Москва, СИЗО-2"]
COUNTRIES = ["RU", "RU", "RU", "KZ", "TR", "KR", "AE", "PL"]
CATS = ["detention_conditions", "torture_ill_treatment", "labour_rights",
        "migration_status", "consular_assistance", "disability", "health",
        "property", "other"]
CHANNELS = ["in_person", "visit", "letter", "phone", "online"]
WORDS = ("the applicant states that wages for four months were not paid and "
         "the employer holds the passport; requests assistance with return "
         "home and contact with the family; medical care was refused after "
         "an injury at the site; the detention facility is overcrowded and "
         "there is no interpreter at hearings; приговор обжалован, адвокат "
         "не допущен к подзащитному").split()


def appeal(r):
    if r.random() < 0.3:
        name = f"{r.choice(CYR_LAST)} {r.choice(CYR_FIRST)}"
    else:
        name = f"{r.choice(LAST)} {r.choice(FIRST)}"
    a = {
        "applicant": {
            "full_name": name,
            "birth_date": f"{r.randint(1960, 2004)}-{r.randint(1, 12):02d}-"
                          f"{r.randint(1, 28):02d}",
            "citizenship": "UZ",
            "residence_country": r.choice(COUNTRIES),
            "location": r.choice(PLACES),
            "contact": f"+7 9{r.randint(10, 99)} {r.randint(100, 999)} "
                       f"{r.randint(1000, 9999)}",
        },
        "concerns_country": r.choice(COUNTRIES),
        "category": r.choice(CATS),
        "channel": r.choice(CHANNELS),
        "received_at": f"2026-{r.randint(1, 11):02d}-{r.randint(1, 28):02d}"
                       f"T{r.randint(8, 18):02d}:{r.randint(0, 59):02d}:00Z",
        "summary": " ".join(r.choice(WORDS)
                            for _ in range(r.randint(40, 120))),
        "tags": r.sample(["urgent", "family", "wages", "passport", "medical",
                          "visit-2026-q3"], r.randint(0, 3)),
    }
    if r.random() < 0.1:
        a["applicant"]["confidential"] = True
    return a


def main():
    n = int(sys.argv[1])
    r = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    out = sys.stdout
    for _ in range(n):
        out.write(json.dumps(appeal(r), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
