/**
 * A few hundred short documents, generated the same way on every run: sentences from themed
 * templates, so searches have neighbours that share words.
 */
export interface SeedDocument {
  id: string
  text: string
  topic: string
}

interface Theme {
  topic: string
  templates: string[]
  slots: Record<string, string[]>
}

const THEMES: Theme[] = [
  {
    topic: 'harbour',
    templates: [
      'The {boat} leaves {port} at {time} with {cargo} on deck.',
      'At {port}, the {boat} waits for the tide before loading {cargo}.',
      'Fog delays the {boat} outside {port}; the pilot boards at {time}.',
    ],
    slots: {
      boat: [
        'night ferry',
        'fishing trawler',
        'cargo schooner',
        'pilot cutter',
        'old steamer',
        'sailing yacht',
      ],
      port: ['Bergen', 'Lisbon', 'Marseille', 'Gdansk', 'Halifax', 'Valparaiso', 'Genoa'],
      time: ['dawn', 'midnight', 'noon', 'six in the evening'],
      cargo: ['timber', 'salted cod', 'olive oil', 'bicycles', 'wine barrels', 'wool bales'],
    },
  },
  {
    topic: 'weather',
    templates: [
      'A {wind} wind brings {sky} skies and {rain} over the {region}.',
      'Forecast for the {region}: {sky}, then {rain} by evening.',
    ],
    slots: {
      wind: ['northerly', 'warm southern', 'gusty western', 'bitter eastern'],
      sky: ['grey', 'clear', 'stormy', 'hazy', 'overcast'],
      rain: ['light drizzle', 'heavy showers', 'thunderstorms', 'sleet', 'snow flurries'],
      region: ['coast', 'highlands', 'valley', 'islands', 'plains'],
    },
  },
  {
    topic: 'kitchen',
    templates: [
      'Simmer the {veg} with {spice} and a splash of {liquid} for a quick {dish}.',
      'A {dish} of roasted {veg}, finished with {spice} and {liquid}.',
    ],
    slots: {
      veg: ['tomatoes', 'leeks', 'chickpeas', 'mushrooms', 'pumpkin', 'lentils', 'aubergine'],
      spice: ['cumin', 'smoked paprika', 'thyme', 'ginger', 'saffron', 'black pepper'],
      liquid: ['white wine', 'lemon juice', 'coconut milk', 'vegetable stock'],
      dish: ['soup', 'stew', 'curry', 'risotto', 'pasta sauce'],
    },
  },
  {
    topic: 'space',
    templates: [
      'The {probe} photographs {body} and sends the images home over {days} days.',
      'Astronomers watch {body} through the {scope} during the {event}.',
    ],
    slots: {
      probe: ['orbiter', 'lander', 'rover', 'deep space probe'],
      body: [
        'the rings of Saturn',
        'a comet tail',
        'the moons of Jupiter',
        'a red dwarf',
        'the lunar south pole',
      ],
      days: ['three', 'twelve', 'forty'],
      scope: ['radio telescope', 'mountain observatory', 'space telescope'],
      event: ['eclipse', 'meteor shower', 'planetary transit', 'solar flare'],
    },
  },
  {
    topic: 'music',
    templates: [
      'A {ensemble} plays {genre} in the {venue} every {day}.',
      'The {instrument} solo opens a night of {genre} at the {venue}.',
    ],
    slots: {
      ensemble: ['string quartet', 'brass band', 'jazz trio', 'folk choir', 'piano duo'],
      genre: ['baroque sonatas', 'bebop', 'sea shanties', 'minimal techno', 'tango'],
      venue: ['harbour hall', 'old church', 'rooftop bar', 'town square', 'basement club'],
      day: ['Friday', 'Sunday morning', 'full moon'],
      instrument: ['cello', 'trumpet', 'accordion', 'double bass', 'violin'],
    },
  },
  {
    topic: 'garden',
    templates: [
      'Plant {plant} in {soil} soil and water them every {interval}.',
      'In {season}, the {plant} need {care} and a sunny corner.',
    ],
    slots: {
      plant: ['tomatoes', 'sunflowers', 'lavender', 'strawberries', 'runner beans', 'basil'],
      soil: ['sandy', 'clay', 'rich compost', 'chalky'],
      interval: ['morning', 'second day', 'week'],
      season: ['spring', 'early summer', 'autumn'],
      care: ['pruning', 'mulch', 'a stake', 'netting against birds'],
    },
  },
  {
    topic: 'trains',
    templates: [
      'The {train} from {city} to {city2} runs along the {scenery}.',
      'Change at {city} for the {train} to {city2}; it crosses the {scenery}.',
    ],
    slots: {
      train: ['sleeper train', 'mountain railway', 'regional express', 'high speed line'],
      city: ['Vienna', 'Zurich', 'Edinburgh', 'Kyoto', 'Milan'],
      city2: ['Venice', 'Inverness', 'Osaka', 'Munich', 'Prague'],
      scenery: ['lake shore', 'alpine passes', 'river gorge', 'rice fields', 'sea cliffs'],
    },
  },
  {
    topic: 'networks',
    templates: [
      'A {system} keeps {thing} consistent across {where} with {protocol}.',
      '{protocol} elects a leader so the {system} survives {fault}.',
    ],
    slots: {
      system: ['replicated log', 'vector store', 'key value store', 'peer group'],
      thing: ['writes', 'embeddings', 'search results', 'configuration'],
      where: ['browser tabs', 'data centres', 'edge servers', 'laptops'],
      protocol: ['Raft', 'a quorum of witnesses', 'leader leases'],
      fault: ['a closed tab', 'a frozen laptop', 'a network partition', 'a crashed server'],
    },
  },
]

/** Mulberry32: a tiny seeded PRNG, so the seed set is the same everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function fill(template: string, slots: Record<string, string[]>, rnd: () => number): string {
  const text = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const options = slots[name]
    return options[Math.floor(rnd() * options.length)]
  })
  return text[0].toUpperCase() + text.slice(1)
}

/** `count` distinct documents (ids `seed-000`...), cycling through the themes. */
export function seedDocuments(count = 320, seed = 7): SeedDocument[] {
  const rnd = prng(seed)
  const seen = new Set<string>()
  const out: SeedDocument[] = []
  for (let attempt = 0; out.length < count && attempt < count * 50; attempt++) {
    const theme = THEMES[attempt % THEMES.length]
    const text = fill(theme.templates[Math.floor(rnd() * theme.templates.length)], theme.slots, rnd)
    if (seen.has(text)) continue
    seen.add(text)
    out.push({ id: `seed-${String(out.length).padStart(3, '0')}`, text, topic: theme.topic })
  }
  return out
}
