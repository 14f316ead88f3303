// Thin C ABI over usearch's index_dense_t for the WebAssembly build. Every call reports failure
// through a return code and fl_last_error(); nothing throws across the boundary.
#include <usearch/index_dense.hpp>

#include <wasm_simd128.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using namespace unum::usearch;
using index_t = index_dense_t;

static std::string last_error;

static int fail(error_t& error) {
    char const* message = error.release();
    last_error = message ? message : "unknown error";
    return -1;
}

static int fail(char const* message) {
    last_error = message;
    return -1;
}

static metric_kind_t metric_of(int code) {
    switch (code) {
    case 0: return metric_kind_t::cos_k;
    case 1: return metric_kind_t::ip_k;
    case 2: return metric_kind_t::l2sq_k;
    default: return metric_kind_t::unknown_k;
    }
}

static scalar_kind_t scalar_of(int code) {
    switch (code) {
    case 0: return scalar_kind_t::f32_k;
    case 1: return scalar_kind_t::f16_k;
    case 2: return scalar_kind_t::i8_k;
    default: return scalar_kind_t::unknown_k;
    }
}

// f32 kernels for WebAssembly SIMD. usearch's portable loops vectorize with one accumulator,
// which leaves the loop bound on add latency; four independent accumulators hide it. The metric
// kind stays usearch's own, so serialized files are unchanged and readable by the native build.
namespace kernels {

using uptr_t = std::size_t;

static inline float sum_lanes(v128_t v) {
    return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) +
           wasm_f32x4_extract_lane(v, 3);
}

static float l2sq(uptr_t a_ptr, uptr_t b_ptr, uptr_t n) {
    float const* a = reinterpret_cast<float const*>(a_ptr);
    float const* b = reinterpret_cast<float const*>(b_ptr);
    v128_t s0 = wasm_f32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v128_t d0 = wasm_f32x4_sub(wasm_v128_load(a + i), wasm_v128_load(b + i));
        v128_t d1 = wasm_f32x4_sub(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4));
        v128_t d2 = wasm_f32x4_sub(wasm_v128_load(a + i + 8), wasm_v128_load(b + i + 8));
        v128_t d3 = wasm_f32x4_sub(wasm_v128_load(a + i + 12), wasm_v128_load(b + i + 12));
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(d0, d0));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(d1, d1));
        s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(d2, d2));
        s3 = wasm_f32x4_add(s3, wasm_f32x4_mul(d3, d3));
    }
    for (; i + 4 <= n; i += 4) {
        v128_t d = wasm_f32x4_sub(wasm_v128_load(a + i), wasm_v128_load(b + i));
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(d, d));
    }
    float sum = sum_lanes(wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3)));
    for (; i < n; ++i) {
        float d = a[i] - b[i];
        sum += d * d;
    }
    return sum;
}

static float dot(float const* a, float const* b, std::size_t n) {
    v128_t s0 = wasm_f32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
        s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(wasm_v128_load(a + i + 8), wasm_v128_load(b + i + 8)));
        s3 = wasm_f32x4_add(s3, wasm_f32x4_mul(wasm_v128_load(a + i + 12), wasm_v128_load(b + i + 12)));
    }
    for (; i + 4 <= n; i += 4)
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
    float sum = sum_lanes(wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3)));
    for (; i < n; ++i)
        sum += a[i] * b[i];
    return sum;
}

static float ip(uptr_t a, uptr_t b, uptr_t n) {
    return 1 - dot(reinterpret_cast<float const*>(a), reinterpret_cast<float const*>(b), n);
}

// Same formula and zero-vector cases as usearch's metric_cos_gt.
static float cos(uptr_t a_ptr, uptr_t b_ptr, uptr_t n) {
    float const* a = reinterpret_cast<float const*>(a_ptr);
    float const* b = reinterpret_cast<float const*>(b_ptr);
    v128_t ab0 = wasm_f32x4_splat(0), ab1 = ab0, a20 = ab0, a21 = ab0, b20 = ab0, b21 = ab0;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v128_t x0 = wasm_v128_load(a + i), y0 = wasm_v128_load(b + i);
        v128_t x1 = wasm_v128_load(a + i + 4), y1 = wasm_v128_load(b + i + 4);
        ab0 = wasm_f32x4_add(ab0, wasm_f32x4_mul(x0, y0));
        ab1 = wasm_f32x4_add(ab1, wasm_f32x4_mul(x1, y1));
        a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(x0, x0));
        a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(x1, x1));
        b20 = wasm_f32x4_add(b20, wasm_f32x4_mul(y0, y0));
        b21 = wasm_f32x4_add(b21, wasm_f32x4_mul(y1, y1));
    }
    float ab = sum_lanes(wasm_f32x4_add(ab0, ab1));
    float a2 = sum_lanes(wasm_f32x4_add(a20, a21));
    float b2 = sum_lanes(wasm_f32x4_add(b20, b21));
    for (; i < n; ++i)
        ab += a[i] * b[i], a2 += a[i] * a[i], b2 += b[i] * b[i];
    if (a2 == 0 || b2 == 0)
        return a2 == 0 && b2 == 0 ? 0 : 1;
    return 1 - ab / (std::sqrt(a2) * std::sqrt(b2));
}

} // namespace kernels

// Our f32 kernels where they apply; usearch's builtin metric otherwise (f16, i8).
static metric_punned_t fast_metric(std::size_t dims, metric_kind_t kind, scalar_kind_t scalar) {
    if (scalar != scalar_kind_t::f32_k)
        return metric_punned_t::builtin(dims, kind, scalar);
    std::uintptr_t fn = 0;
    switch (kind) {
    case metric_kind_t::l2sq_k: fn = reinterpret_cast<std::uintptr_t>(&kernels::l2sq); break;
    case metric_kind_t::ip_k: fn = reinterpret_cast<std::uintptr_t>(&kernels::ip); break;
    case metric_kind_t::cos_k: fn = reinterpret_cast<std::uintptr_t>(&kernels::cos); break;
    default: return metric_punned_t::builtin(dims, kind, scalar);
    }
    return metric_punned_t::stateless(dims, fn, metric_punned_signature_t::array_array_size_k, kind, scalar);
}

// After load/view usearch installs its builtin metric from the file header; put ours back.
static int use_fast_metric(index_t* index) {
    if (!index->try_change_metric(fast_metric(index->dimensions(), index->metric_kind(), index->scalar_kind())))
        return fail("failed to install the metric");
    return 0;
}

// Query path. At 100k x 128-d the vectors (51 MB) outgrow the caches and a search spends most of
// its time waiting on one vector's cache misses after another: WebAssembly has no prefetch
// instruction, so before measuring a node's unvisited neighbours we read one word per cache line
// of each of their vectors. Those loads are independent, so their misses overlap instead of
// queueing. usearch's inner index takes such a prefetch callback; index_dense_t does not pass
// one, so this path calls the inner index directly, with the same search algorithm and results.
namespace fast_search {

using typed_t = index_gt<default_distance_t, default_key_t, default_slot_t, aligned_allocator_gt<byte_t, 64>,
                         memory_mapping_allocator_gt<64>>;
using lookup_t = buffer_gt<byte_t*, aligned_allocator_gt<byte_t*, 64>>;
using kernel_t = float (*)(std::size_t, std::size_t, std::size_t);

// Standard C++: an explicit instantiation may name private members. This reads index_dense_t's
// inner graph and its slot -> vector table, which it has no accessors for.
template <typename tag_at, typename tag_at::type member_ak> struct grant {
    friend typename tag_at::type get(tag_at) noexcept { return member_ak; }
};
struct typed_tag {
    using type = typed_t* index_t::*;
    friend type get(typed_tag) noexcept;
};
struct lookup_tag {
    using type = lookup_t index_t::*;
    friend type get(lookup_tag) noexcept;
};
template struct grant<typed_tag, &index_t::typed_>;
template struct grant<lookup_tag, &index_t::vectors_lookup_>;

// Below this much vector data the caches hold it and touching first only adds work.
static constexpr std::size_t touch_above_bytes = std::size_t(16) << 20;

// The metric index_dense_t would use (vector of a slot, our f32 kernel), without the indirection.
template <kernel_t kernel_ak> struct metric_t {
    byte_t* const* lookup;
    std::size_t dims;
    template <typename member_at> inline float operator()(byte_t const* query, member_at const& member) const noexcept {
        return kernel_ak(reinterpret_cast<std::size_t>(query), reinterpret_cast<std::size_t>(lookup[get_slot(member)]),
                         dims);
    }
};

static volatile std::uint32_t sink;

struct touch_t {
    byte_t* const* lookup;
    std::size_t lines;
    template <typename iterator_at> inline void operator()(iterator_at begin, iterator_at end) const noexcept {
        std::uint32_t const* vectors[64];
        std::size_t count = 0;
        for (; begin != end && count != 64; ++begin)
            vectors[count++] = reinterpret_cast<std::uint32_t const*>(lookup[get_slot(begin)]);
        // First lines of every vector, then second lines...: the earliest misses start first.
        std::uint32_t any = 0;
        for (std::size_t line = 0; line != lines; ++line)
            for (std::size_t i = 0; i != count; ++i)
                any |= vectors[i][line * 16];
        sink = any; // keeps the loads
    }
};

// Skips removed entries, exactly as index_dense_t's own search does.
struct not_free_t {
    default_key_t free_key;
    template <typename member_at> inline bool operator()(member_at const& member) const noexcept {
        return static_cast<default_key_t>(member.key) != free_key;
    }
};

template <kernel_t kernel_ak, typename predicate_at>
static int search_with(index_t* index, typed_t* typed, float const* query, std::uint32_t k, std::uint64_t* keys,
                       float* distances, predicate_at&& predicate) {
    byte_t* const* lookup = (index->*get(lookup_tag{})).data();
    std::size_t dims = index->dimensions();
    index_search_config_t config;
    config.thread = 0; // WebAssembly here is single-threaded: one search context
    config.expansion = index->expansion_search();
    metric_t<kernel_ak> metric{lookup, dims};
    byte_t const* q = reinterpret_cast<byte_t const*>(query);
    std::size_t bytes = dims * sizeof(float);
    auto result = typed->size() * bytes > touch_above_bytes
                      ? typed->search(q, k, metric, config, predicate, touch_t{lookup, (bytes + 63) / 64})
                      : typed->search(q, k, metric, config, predicate);
    if (!result)
        return fail(result.error);
    return static_cast<int>(result.dump_to(keys, distances));
}

template <kernel_t kernel_ak>
static int search_direct(index_t* index, typed_t* typed, float const* query, std::uint32_t k, std::uint64_t* keys,
                         float* distances) {
    // Without removed entries the free-key check cannot fail; skipping it saves reading each
    // accepted candidate's node record.
    if (index->size() == typed->size())
        return search_with<kernel_ak>(index, typed, query, k, keys, distances, dummy_predicate_t{});
    return search_with<kernel_ak>(index, typed, query, k, keys, distances,
                                  not_free_t{default_free_value<default_key_t>()});
}

} // namespace fast_search

// f32 indexes take the direct path; f16/i8 (and an index with no search context) take usearch's.
static int search_into(index_t* index, float const* query, std::uint32_t k, std::uint64_t* keys, float* distances) {
    using namespace fast_search;
    typed_t* typed = index->*get(typed_tag{});
    if (index->scalar_kind() == scalar_kind_t::f32_k && typed->limits().threads() > 0) {
        switch (index->metric_kind()) {
        case metric_kind_t::l2sq_k: return search_direct<&kernels::l2sq>(index, typed, query, k, keys, distances);
        case metric_kind_t::ip_k: return search_direct<&kernels::ip>(index, typed, query, k, keys, distances);
        case metric_kind_t::cos_k: return search_direct<&kernels::cos>(index, typed, query, k, keys, distances);
        default: break;
        }
    }
    auto result = index->search(query, k);
    if (!result)
        return fail(result.error);
    return static_cast<int>(result.dump_to(keys, distances));
}

extern "C" {

char const* fl_last_error() { return last_error.c_str(); }

index_t* fl_new(std::uint32_t dimensions, int metric, int scalar, std::uint32_t connectivity,
                std::uint32_t expansion_add, std::uint32_t expansion_search) {
    metric_punned_t punned = fast_metric(dimensions, metric_of(metric), scalar_of(scalar));
    if (punned.missing()) {
        fail("unsupported metric or scalar kind");
        return nullptr;
    }
    index_dense_config_t config(connectivity, expansion_add, expansion_search);
    // One thread: WebAssembly here has no threads, and a small pool keeps memory low.
    auto result = index_t::make(punned, config, default_free_value<default_key_t>(), index_limits_t(0, 1));
    if (!result) {
        fail(result.error);
        return nullptr;
    }
    return new index_t(std::move(result.index));
}

void fl_free(index_t* index) { delete index; }

std::uint32_t fl_dimensions(index_t* index) { return static_cast<std::uint32_t>(index->dimensions()); }
std::uint32_t fl_connectivity(index_t* index) { return static_cast<std::uint32_t>(index->connectivity()); }
double fl_size(index_t* index) { return static_cast<double>(index->size()); }
double fl_capacity(index_t* index) { return static_cast<double>(index->capacity()); }
std::uint32_t fl_expansion_search(index_t* index) { return static_cast<std::uint32_t>(index->expansion_search()); }
std::uint32_t fl_expansion_add(index_t* index) { return static_cast<std::uint32_t>(index->expansion_add()); }
void fl_change_expansion_search(index_t* index, std::uint32_t n) { index->change_expansion_search(n); }
void fl_change_expansion_add(index_t* index, std::uint32_t n) { index->change_expansion_add(n); }

int fl_reserve(index_t* index, double members) {
    if (!index->try_reserve(index_limits_t(static_cast<std::size_t>(members), 1)))
        return fail("failed to reserve memory");
    return 0;
}

static int grow_for(index_t* index, std::size_t extra) {
    std::size_t needed = index->size() + extra;
    if (needed < index->capacity())
        return 0;
    std::size_t target = 64;
    while (target <= needed)
        target *= 2;
    return fl_reserve(index, static_cast<double>(target));
}

int fl_add_many(index_t* index, std::uint64_t const* keys, float const* vectors, std::uint32_t count) {
    if (grow_for(index, count) != 0)
        return -1;
    std::size_t dims = index->dimensions();
    for (std::uint32_t i = 0; i != count; ++i) {
        auto result = index->add(keys[i], vectors + i * dims);
        if (!result)
            return fail(result.error);
    }
    return 0;
}

// Single-row calls take keys as doubles (exact below 2^53) so JS passes no BigInt.
int fl_add_one(index_t* index, double key, float const* vector) {
    if (grow_for(index, 1) != 0)
        return -1;
    auto result = index->add(static_cast<std::uint64_t>(key), vector);
    if (!result)
        return fail(result.error);
    return 0;
}

int fl_search_one(index_t* index, float const* query, std::uint32_t k, double* keys, float* distances) {
    static std::vector<std::uint64_t> raw;
    if (raw.size() < k)
        raw.resize(k);
    int found = search_into(index, query, k, raw.data(), distances);
    for (int i = 0; i < found; ++i)
        keys[i] = static_cast<double>(raw[i]);
    return found;
}

int fl_remove(index_t* index, std::uint64_t key) {
    auto result = index->remove(key);
    if (!result)
        return fail(result.error);
    return static_cast<int>(result.completed);
}

int fl_contains(index_t* index, std::uint64_t key) { return index->contains(key) ? 1 : 0; }

// Searches `count` queries; row i writes up to k hits at keys/distances + i*k, its hit count in found[i].
int fl_search_many(index_t* index, float const* queries, std::uint32_t count, std::uint32_t k,
                   std::uint64_t* keys, float* distances, std::uint32_t* found) {
    std::size_t dims = index->dimensions();
    for (std::uint32_t i = 0; i != count; ++i) {
        int hits = search_into(index, queries + i * dims, k, keys + i * k, distances + i * k);
        if (hits < 0)
            return -1;
        found[i] = static_cast<std::uint32_t>(hits);
    }
    return 0;
}

double fl_serialized_length(index_t* index) { return static_cast<double>(index->serialized_length()); }

int fl_save(index_t* index, std::uint8_t* buffer, double length) {
    memory_mapped_file_t file(reinterpret_cast<byte_t*>(buffer), static_cast<std::size_t>(length));
    auto result = index->save(std::move(file));
    if (!result)
        return fail(result.error);
    return 0;
}

int fl_load(index_t* index, std::uint8_t* buffer, double length) {
    memory_mapped_file_t file(reinterpret_cast<byte_t*>(buffer), static_cast<std::size_t>(length));
    auto result = index->load(std::move(file));
    if (!result)
        return fail(result.error);
    return use_fast_metric(index);
}

// Serves searches straight from `buffer`, which must outlive the index and stay unchanged.
int fl_view(index_t* index, std::uint8_t* buffer, double length) {
    memory_mapped_file_t file(reinterpret_cast<byte_t*>(buffer), static_cast<std::size_t>(length));
    auto result = index->view(std::move(file));
    if (!result)
        return fail(result.error);
    return use_fast_metric(index);
}

} // extern "C"
