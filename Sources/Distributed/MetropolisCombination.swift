/// sum over l in N_k (k included) of c_lk x_l, in ascending node order so that every transport
/// adds the same numbers in the same order.
func combine(own: [Double], node: Int, received: [Int: [Double]], weights: [[Double]]) -> [Double] {
    var result = [Double](repeating: 0, count: own.count)
    for l in (Array(received.keys) + [node]).sorted() {
        let x = l == node ? own : received[l]!
        precondition(x.count == own.count, "node \(l) sent \(x.count) numbers, expected \(own.count)")
        let c = weights[l][node]
        for j in result.indices { result[j] += c * x[j] }
    }
    return result
}
