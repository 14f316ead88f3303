// Thin C ABI over usearch's index_dense_t for the WebAssembly build. Every call reports failure
// through a return code and fl_last_error(); nothing throws across the boundary.
#include <usearch/index_dense.hpp>

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

extern "C" {

char const* fl_last_error() { return last_error.c_str(); }

index_t* fl_new(std::uint32_t dimensions, int metric, int scalar, std::uint32_t connectivity,
                std::uint32_t expansion_add, std::uint32_t expansion_search) {
    metric_punned_t punned(dimensions, metric_of(metric), scalar_of(scalar));
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
    auto result = index->search(query, k);
    if (!result)
        return fail(result.error);
    static std::vector<std::uint64_t> raw;
    if (raw.size() < k)
        raw.resize(k);
    std::size_t found = result.dump_to(raw.data(), distances);
    for (std::size_t i = 0; i != found; ++i)
        keys[i] = static_cast<double>(raw[i]);
    return static_cast<int>(found);
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
        auto result = index->search(queries + i * dims, k);
        if (!result)
            return fail(result.error);
        found[i] = static_cast<std::uint32_t>(result.dump_to(keys + i * k, distances + i * k));
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
    return 0;
}

// Serves searches straight from `buffer`, which must outlive the index and stay unchanged.
int fl_view(index_t* index, std::uint8_t* buffer, double length) {
    memory_mapped_file_t file(reinterpret_cast<byte_t*>(buffer), static_cast<std::size_t>(length));
    auto result = index->view(std::move(file));
    if (!result)
        return fail(result.error);
    return 0;
}

} // extern "C"
