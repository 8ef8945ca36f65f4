/// Neumaier-compensated sum: the transport cost adds up to n + m - 1 (exact) or n * m (Sinkhorn) products of
/// very different sizes, and plain summation would lose digits the parity tests check.
pub(crate) fn compensated(terms: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut comp) = (0.0f64, 0.0f64);
    for x in terms {
        let t = sum + x;
        comp += if sum.abs() >= x.abs() {
            (sum - t) + x
        } else {
            (x - t) + sum
        };
        sum = t;
    }
    sum + comp
}
