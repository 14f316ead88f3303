import type { Metadata } from './commands.js'
import { InvalidFilterError } from './errors.js'

type Scalar = string | number | boolean | null

/** Range bounds on a number field; all given bounds must hold. */
export interface RangeCondition {
  $gt?: number
  $gte?: number
  $lt?: number
  $lte?: number
}

export type Condition = Scalar | { $in: Scalar[] } | RangeCondition

/** Every field's condition must hold: equality, `$in`, or a numeric range. */
export type Filter = Record<string, Condition>

export type Predicate = (metadata: Metadata | undefined) => boolean

const RANGE_OPS = ['$gt', '$gte', '$lt', '$lte'] as const

const isScalar = (v: unknown): v is Scalar =>
  v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'

/** Checks `filter` and compiles it to a predicate; errors name the offending field. */
export function compileFilter(filter: Filter): Predicate {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter))
    throw new InvalidFilterError('filter', 'must be an object of field conditions')
  const tests = Object.entries(filter).map(([field, cond]) => compileCondition(field, cond))
  return (metadata) => {
    for (const [field, test] of tests) if (!test(metadata?.[field])) return false
    return true
  }
}

function compileCondition(field: string, cond: Condition): [string, (v: unknown) => boolean] {
  const at = `filter.${field}`
  if (isScalar(cond)) return [field, (v) => v === cond]
  if (typeof cond !== 'object') throw new InvalidFilterError(at, 'must be a value, {$in: [...]} or a range')
  const keys = Object.keys(cond)
  if (keys.length === 1 && keys[0] === '$in') {
    const list = (cond as { $in: unknown }).$in
    if (!Array.isArray(list) || !list.every(isScalar))
      throw new InvalidFilterError(`${at}.$in`, 'must be an array of scalars')
    const set = new Set(list)
    return [field, (v) => set.has(v as Scalar)]
  }
  if (keys.length === 0 || !keys.every((k) => (RANGE_OPS as readonly string[]).includes(k)))
    throw new InvalidFilterError(
      at,
      `unknown operator in ${JSON.stringify(keys)}; use $in, $gt, $gte, $lt, $lte`,
    )
  const r = cond as RangeCondition
  for (const op of RANGE_OPS)
    if (r[op] !== undefined && (typeof r[op] !== 'number' || Number.isNaN(r[op])))
      throw new InvalidFilterError(`${at}.${op}`, 'must be a number')
  return [
    field,
    (v) =>
      typeof v === 'number' &&
      (r.$gt === undefined || v > r.$gt) &&
      (r.$gte === undefined || v >= r.$gte) &&
      (r.$lt === undefined || v < r.$lt) &&
      (r.$lte === undefined || v <= r.$lte),
  ]
}
