//! `random`: CPython's Mersenne Twister with its seeding and its `Lib/random.py` algorithms,
//! so seeded sequences match CPython's exactly. `random.Random` is a script-visible class
//! (subclassable); the module-level functions are methods bound to one hidden instance.

use super::params::{bind, is_none, or_none, Sig};
use crate::text::mersenne::{sha512, Mt19937};
use crate::text::{ErrorKind, TextError};
use crate::vm::other::NativeObject;
use crate::vm::value::{Class, Instance, Layout, Module, NativeFunction};
use crate::vm::{Args, Exc, ExcKind, NativeFn, Res, Sym, TypeId, Value, Vm};
use num_bigint::{BigInt, Sign};
use num_traits::{ToPrimitive, Zero};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// The generator state of one `Random` instance, stored in its `_state` attribute.
pub struct RngState {
    /// The Mersenne Twister.
    pub mt: RefCell<Mt19937>,
}

impl NativeObject for RngState {
    fn type_name(&self) -> &'static str {
        "random_state"
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn state_sym() -> Sym {
    Sym::new("_state")
}

/// OS entropy (or, failing that, the time and the process id) as a seed.
fn entropy_seed() -> BigInt {
    use std::io::Read;
    let mut buf = [0u8; 32];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf)).is_ok();
    if !ok {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        buf[..16].copy_from_slice(&t.to_le_bytes());
        buf[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    }
    BigInt::from_bytes_le(Sign::Plus, &buf)
}

fn new_state() -> Value {
    let mut mt = Mt19937::new();
    mt.seed_from_int(&entropy_seed());
    Value::Other(Rc::new(RngState { mt: RefCell::new(mt) }))
}

/// Runs `f` on the generator of the `Random` instance `this` (creating one if a subclass
/// never called `Random.__init__`).
fn with_rng<T>(this: &Value, f: impl FnOnce(&mut Mt19937) -> T) -> Res<T> {
    let Value::Instance(inst) = this else {
        return Err(Exc::type_error("descriptor requires a 'Random' object"));
    };
    let st = match inst.get_attr(state_sym()) {
        Some(v @ Value::Other(_)) => v,
        _ => {
            let v = new_state();
            inst.set_attr(state_sym(), v.clone());
            v
        }
    };
    let Value::Other(o) = &st else { return Err(Exc::type_error("bad random state")) };
    match o.as_any().downcast_ref::<RngState>() {
        Some(s) => Ok(f(&mut s.mt.borrow_mut())),
        None => {
            let fresh = new_state();
            inst.set_attr(state_sym(), fresh.clone());
            with_rng(this, f)
        }
    }
}

fn text_err(e: TextError) -> Exc {
    let kind = match e.kind {
        ErrorKind::IndexError => ExcKind::IndexError,
        ErrorKind::MemoryError => ExcKind::MemoryError,
        ErrorKind::OverflowError => ExcKind::OverflowError,
        ErrorKind::TypeError => ExcKind::TypeError,
        ErrorKind::ZeroDivisionError => ExcKind::ZeroDivisionError,
        ErrorKind::ValueError => ExcKind::ValueError,
    };
    Exc::new(kind, e.message)
}

/// An exact integer argument (`int`, `bool`, or an object with `__index__`).
fn to_bigint(vm: &mut Vm, v: &Value) -> Res<BigInt> {
    match v {
        Value::Int(i) => Ok(BigInt::from(*i)),
        Value::Bool(b) => Ok(BigInt::from(*b as i64)),
        Value::BigInt(b) => Ok((**b).clone()),
        other => Ok(BigInt::from(vm.index_value(other)?)),
    }
}

/// A `randrange` argument: an int, or (deprecated in 3.11) an integral float.
fn range_arg(vm: &mut Vm, v: &Value, what: &str) -> Res<BigInt> {
    match v {
        Value::Float(f) => {
            if f.is_finite() && f.fract() != 0.0 {
                return Err(Exc::value_error(format!("non-integer {what} for randrange()")));
            }
            Value::int_of_float(*f)
        }
        other => to_bigint(vm, other),
    }
}

fn len_of(vm: &mut Vm, v: &Value) -> Res<usize> {
    let f = vm.builtins.get(Sym::new("len")).unwrap_or(Value::None);
    let n = vm.call(&f, vec![v.clone()])?;
    Ok(vm.index_value(&n)?.max(0) as usize)
}

fn item(vm: &mut Vm, seq: &Value, i: usize) -> Res<Value> {
    vm.get_item(seq, &Value::Int(i as i64))
}

fn this(a: &Args) -> Value {
    a.pos.first().cloned().unwrap_or(Value::None)
}

// ---- methods ----

fn r_init(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "Random.__init__", params: &["self", "x"], required: 1, kwonly: &[] })?;
    seed_impl(vm, &or_none(&b[0]), &or_none(&b[1]))?;
    Ok(Value::None)
}

fn seed_impl(vm: &mut Vm, this: &Value, x: &Value) -> Res<()> {
    let n: BigInt = match x {
        Value::None => entropy_seed(),
        Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => to_bigint(vm, x)?,
        Value::Str(s) => bytes_seed(s.as_str().as_bytes()),
        Value::Bytes(b) => bytes_seed(b),
        Value::ByteArray(b) => {
            let v = b.borrow().clone();
            bytes_seed(&v)
        }
        Value::Float(_) => BigInt::from(vm.hash(x)?.unsigned_abs()),
        _ => {
            return Err(Exc::type_error(
                "The only supported seed types are: None,\nint, float, str, bytes, and bytearray.",
            ));
        }
    };
    with_rng(this, |mt| mt.seed_from_int(&n))
}

fn bytes_seed(b: &[u8]) -> BigInt {
    let mut bytes = b.to_vec();
    bytes.extend_from_slice(&sha512(b));
    BigInt::from_bytes_be(Sign::Plus, &bytes)
}

fn r_seed(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "Random.seed", params: &["self", "a", "version"], required: 1, kwonly: &[] })?;
    if let Some(v) = &b[2] {
        let version = vm.index_value(v).unwrap_or(2);
        if version == 1 {
            if let Some(Value::Str(_) | Value::Bytes(_)) = &b[1] {
                return Err(Exc::new(
                    ExcKind::NotImplementedError,
                    "aio does not support random.seed(version=1) for str or bytes",
                ));
            }
        }
    }
    seed_impl(vm, &or_none(&b[0]), &or_none(&b[1]))?;
    Ok(Value::None)
}

fn r_random(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if a.pos.len() != 1 || !a.kw.is_empty() {
        if !a.kw.is_empty() {
            return Err(Exc::type_error("Random.random() takes no keyword arguments"));
        }
        return Err(Exc::type_error(format!(
            "Random.random() takes no arguments ({} given)",
            a.pos.len().saturating_sub(1)
        )));
    }
    Ok(Value::Float(with_rng(&this(a), |mt| mt.random())?))
}

fn r_getrandbits(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    if a.pos.len() != 2 || !a.kw.is_empty() {
        if !a.kw.is_empty() {
            return Err(Exc::type_error("Random.getrandbits() takes no keyword arguments"));
        }
        return Err(Exc::type_error(format!(
            "Random.getrandbits() takes exactly one argument ({} given)",
            a.pos.len().saturating_sub(1)
        )));
    }
    let k = vm.index_value(&a.pos[1].clone())?;
    let r = with_rng(&this(a), |mt| mt.getrandbits(k))?.map_err(text_err)?;
    Ok(Value::from_bigint(r))
}

fn r_randbytes(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "Random.randbytes", params: &["self", "n"], required: 2, kwonly: &[] })?;
    let n = vm.index_value(&or_none(&b[1]))?;
    if n < 0 {
        return Err(Exc::value_error("number of bits must be non-negative"));
    }
    let n = n as usize;
    let bits = with_rng(&or_none(&b[0]), |mt| mt.getrandbits(n as i64 * 8))?.map_err(text_err)?;
    let mut bytes = bits.to_bytes_le().1;
    if bits.is_zero() {
        bytes.clear();
    }
    bytes.resize(n, 0);
    Ok(Value::Bytes(Rc::from(bytes)))
}

fn r_randrange(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(
        a,
        &Sig { name: "Random.randrange", params: &["self", "start", "stop", "step"], required: 2, kwonly: &[] },
    )?;
    let start = range_arg(vm, &or_none(&b[1]), "arg 1")?;
    let stop = match &b[2] {
        None | Some(Value::None) => {
            if b[3].is_some() {
                return Err(Exc::type_error("Missing a non-None stop argument"));
            }
            None
        }
        Some(v) => Some(range_arg(vm, v, "stop")?),
    };
    let step = match &b[3] {
        None => BigInt::from(1),
        Some(v) => range_arg(vm, v, "step")?,
    };
    let r = with_rng(&or_none(&b[0]), |mt| mt.randrange(&start, stop.as_ref(), &step))?.map_err(text_err)?;
    Ok(Value::from_bigint(r))
}

fn r_randint(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "Random.randint", params: &["self", "a", "b"], required: 3, kwonly: &[] })?;
    let lo = range_arg(vm, &or_none(&b[1]), "arg 1")?;
    let hi = match or_none(&b[2]) {
        Value::Float(f) if f.is_finite() && (f + 1.0).fract() != 0.0 => {
            return Err(Exc::value_error("non-integer stop for randrange()"));
        }
        v => range_arg(vm, &v, "stop")?,
    };
    let r = with_rng(&or_none(&b[0]), |mt| mt.randint(&lo, &hi))?.map_err(text_err)?;
    Ok(Value::from_bigint(r))
}

fn r_choice(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "Random.choice", params: &["self", "seq"], required: 2, kwonly: &[] })?;
    let seq = or_none(&b[1]);
    let n = len_of(vm, &seq)?;
    let i = with_rng(&or_none(&b[0]), |mt| mt.choice_index(n))?.map_err(text_err)?;
    item(vm, &seq, i)
}

/// Converts a value to a float as `x + 0.0` would (ints, bools, floats).
fn num_f64(vm: &mut Vm, v: &Value) -> Res<f64> {
    match v {
        Value::Int(_) | Value::BigInt(_) | Value::Bool(_) | Value::Float(_) => vm.to_float(v),
        Value::Instance(_) => vm.to_float(v),
        other => {
            Err(Exc::type_error(format!("unsupported operand type(s) for +: '{}' and 'float'", vm.type_name(other))))
        }
    }
}

/// `itertools.accumulate` over numbers (as floats), with CPython's `TypeError` for others.
fn accumulate(vm: &mut Vm, weights: &Value) -> Res<Vec<f64>> {
    let items = vm.collect(weights)?;
    let mut out = Vec::with_capacity(items.len());
    let mut total = 0.0;
    for (i, w) in items.iter().enumerate() {
        let x = match w {
            Value::Int(_) | Value::BigInt(_) | Value::Bool(_) | Value::Float(_) => vm.to_float(w)?,
            other if i == 0 => {
                // A single non-number is accepted by accumulate; it fails later on `+ 0.0`.
                let name = vm.type_name(other);
                return Err(Exc::type_error(format!("can only concatenate {name} (not \"float\") to {name}")));
            }
            other => {
                let t0 = vm.type_name(&items[0]);
                return Err(Exc::type_error(format!(
                    "unsupported operand type(s) for +: '{t0}' and '{}'",
                    vm.type_name(other)
                )));
            }
        };
        total = if i == 0 { x } else { total + x };
        out.push(total);
    }
    Ok(out)
}

/// `bisect.bisect_right(a, x, lo, hi)`.
fn bisect_right(a: &[f64], x: f64, lo: usize, hi: usize) -> usize {
    let (mut lo, mut hi) = (lo, hi);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if x < a[mid] {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

fn r_choices(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(
        a,
        &Sig {
            name: "Random.choices",
            params: &["self", "population", "weights"],
            required: 2,
            kwonly: &["cum_weights", "k"],
        },
    )?;
    let me = or_none(&b[0]);
    let population = or_none(&b[1]);
    let k = match &b[4] {
        Some(v) => vm.index_value(v)?,
        None => 1,
    }
    .max(0) as usize;
    let n = len_of(vm, &population)?;
    let cum: Vec<f64> = if is_none(&b[3]) {
        if is_none(&b[2]) {
            let nf = n as f64;
            let mut out = Vec::with_capacity(k);
            for _ in 0..k {
                let i = with_rng(&me, |mt| (mt.random() * nf).floor() as usize)?;
                out.push(item(vm, &population, i)?);
            }
            return Ok(Value::list(out));
        }
        let w = or_none(&b[2]);
        if let (Value::Int(kk), false) = (&w, matches!(w, Value::List(_))) {
            return Err(Exc::type_error(format!("The number of choices must be a keyword argument: k={kk}")));
        }
        accumulate(vm, &w)?
    } else {
        if !is_none(&b[2]) {
            return Err(Exc::type_error("Cannot specify both weights and cumulative weights"));
        }
        let items = vm.collect(&or_none(&b[3]))?;
        let mut v = Vec::with_capacity(items.len());
        for it in &items {
            v.push(num_f64(vm, it)?);
        }
        v
    };
    if cum.len() != n {
        return Err(Exc::value_error("The number of weights does not match the population"));
    }
    let total = cum.last().copied().unwrap_or(0.0);
    if total <= 0.0 {
        return Err(Exc::value_error("Total of weights must be greater than zero"));
    }
    if !total.is_finite() {
        return Err(Exc::value_error("Total of weights must be finite"));
    }
    let hi = n - 1;
    let mut out = Vec::with_capacity(k);
    for _ in 0..k {
        let x = with_rng(&me, |mt| mt.random())? * total;
        let i = bisect_right(&cum, x, 0, hi);
        out.push(item(vm, &population, i)?);
    }
    Ok(Value::list(out))
}

fn r_shuffle(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "Random.shuffle", params: &["self", "x"], required: 2, kwonly: &[] })?;
    let me = or_none(&b[0]);
    let x = or_none(&b[1]);
    if let Value::List(l) = &x {
        let n = l.items.borrow().len();
        let mut swaps = Vec::with_capacity(n);
        with_rng(&me, |mt| {
            for i in (1..n).rev() {
                swaps.push((i, mt.randbelow_usize(i + 1)));
            }
        })?;
        let mut items = l.items.borrow_mut();
        for (i, j) in swaps {
            if i < items.len() && j < items.len() {
                items.swap(i, j);
            }
        }
        return Ok(Value::None);
    }
    let n = len_of(vm, &x)?;
    for i in (1..n).rev() {
        let j = with_rng(&me, |mt| mt.randbelow_usize(i + 1))?;
        let xi = item(vm, &x, i)?;
        let xj = item(vm, &x, j)?;
        vm.set_item(&x, Value::Int(i as i64), xj)?;
        vm.set_item(&x, Value::Int(j as i64), xi)?;
    }
    Ok(Value::None)
}

fn r_sample(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(
        a,
        &Sig { name: "Random.sample", params: &["self", "population", "k"], required: 3, kwonly: &["counts"] },
    )?;
    let me = or_none(&b[0]);
    let population = or_none(&b[1]);
    let is_seq = matches!(
        population,
        Value::List(_) | Value::Tuple(_) | Value::Str(_) | Value::Range(_) | Value::Bytes(_) | Value::ByteArray(_)
    );
    if !is_seq {
        return Err(Exc::type_error("Population must be a sequence.  For dicts or sets, use sorted(d)."));
    }
    let n = len_of(vm, &population)?;
    let kv = or_none(&b[2]);
    if let Some(counts) = b[3].clone().filter(|c| !c.is_none()) {
        let items = vm.collect(&counts)?;
        if items.len() != n {
            return Err(Exc::value_error("The number of counts does not match the population"));
        }
        let mut cum: Vec<BigInt> = Vec::with_capacity(n);
        let mut total = BigInt::zero();
        for c in &items {
            match c {
                Value::Int(_) | Value::BigInt(_) | Value::Bool(_) => total += to_bigint(vm, c)?,
                _ => return Err(Exc::type_error("Counts must be integers")),
            }
            cum.push(total.clone());
        }
        cum.pop();
        if total <= BigInt::zero() {
            return Err(Exc::value_error("Total of counts must be greater than zero"));
        }
        let total = total.to_usize().ok_or_else(|| Exc::overflow("Python int too large to convert to C ssize_t"))?;
        let k = vm.index_value(&kv)?;
        let picks = with_rng(&me, |mt| mt.sample_indices(total, k))?.map_err(text_err)?;
        let mut out = Vec::with_capacity(picks.len());
        for s in picks {
            let s = BigInt::from(s);
            let idx = cum.partition_point(|c| *c <= s);
            out.push(item(vm, &population, idx)?);
        }
        return Ok(Value::list(out));
    }
    let k = vm.index_value(&kv)?;
    let picks = with_rng(&me, |mt| mt.sample_indices(n, k))?.map_err(text_err)?;
    let mut out = Vec::with_capacity(picks.len());
    for i in picks {
        out.push(item(vm, &population, i)?);
    }
    Ok(Value::list(out))
}

fn float_arg(vm: &mut Vm, v: &Option<Value>, default: f64) -> Res<f64> {
    match v {
        None => Ok(default),
        Some(v) => vm.to_float(v),
    }
}

fn r_uniform(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "Random.uniform", params: &["self", "a", "b"], required: 3, kwonly: &[] })?;
    let lo = float_arg(vm, &b[1], 0.0)?;
    let hi = float_arg(vm, &b[2], 0.0)?;
    Ok(Value::Float(with_rng(&or_none(&b[0]), |mt| mt.uniform(lo, hi))?))
}

fn r_triangular(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(
        a,
        &Sig { name: "Random.triangular", params: &["self", "low", "high", "mode"], required: 1, kwonly: &[] },
    )?;
    let low = float_arg(vm, &b[1], 0.0)?;
    let high = float_arg(vm, &b[2], 1.0)?;
    let mode = match &b[3] {
        None | Some(Value::None) => None,
        Some(v) => Some(vm.to_float(v)?),
    };
    let mut u = with_rng(&or_none(&b[0]), |mt| mt.random())?;
    let mut c = match mode {
        None => 0.5,
        Some(m) => {
            if high - low == 0.0 {
                return Ok(b[1].clone().unwrap_or(Value::Float(0.0)));
            }
            (m - low) / (high - low)
        }
    };
    let (mut lo, mut hi) = (low, high);
    if u > c {
        u = 1.0 - u;
        c = 1.0 - c;
        std::mem::swap(&mut lo, &mut hi);
    }
    Ok(Value::Float(lo + (hi - lo) * (u * c).sqrt()))
}

fn r_gauss(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "Random.gauss", params: &["self", "mu", "sigma"], required: 1, kwonly: &[] })?;
    let mu = float_arg(vm, &b[1], 0.0)?;
    let sigma = float_arg(vm, &b[2], 1.0)?;
    Ok(Value::Float(with_rng(&or_none(&b[0]), |mt| mt.gauss(mu, sigma))?))
}

fn r_normalvariate(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "Random.normalvariate", params: &["self", "mu", "sigma"], required: 1, kwonly: &[] })?;
    let mu = float_arg(vm, &b[1], 0.0)?;
    let sigma = float_arg(vm, &b[2], 1.0)?;
    const NV_MAGICCONST: f64 = 1.7155277699214135; // 4 * exp(-0.5) / sqrt(2.0)
    let z = with_rng(&or_none(&b[0]), |mt| loop {
        let u1 = mt.random();
        let u2 = 1.0 - mt.random();
        let z = NV_MAGICCONST * (u1 - 0.5) / u2;
        let zz = z * z / 4.0;
        if zz <= -u2.ln() {
            break z;
        }
    })?;
    Ok(Value::Float(mu + z * sigma))
}

fn r_lognormvariate(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let v = r_normalvariate(vm, a)?;
    let x = vm.to_float(&v)?;
    Ok(Value::Float(x.exp()))
}

fn r_expovariate(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "Random.expovariate", params: &["self", "lambd"], required: 2, kwonly: &[] })?;
    let l = float_arg(vm, &b[1], 1.0)?;
    let u = with_rng(&or_none(&b[0]), |mt| mt.random())?;
    if l == 0.0 {
        return Err(Exc::zero_division("float division by zero"));
    }
    Ok(Value::Float(-(1.0 - u).ln() / l))
}

fn r_paretovariate(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "Random.paretovariate", params: &["self", "alpha"], required: 2, kwonly: &[] })?;
    let alpha = float_arg(vm, &b[1], 1.0)?;
    let u = 1.0 - with_rng(&or_none(&b[0]), |mt| mt.random())?;
    if alpha == 0.0 {
        return Err(Exc::zero_division("float division by zero"));
    }
    Ok(Value::Float(u.powf(-1.0 / alpha)))
}

fn r_weibullvariate(vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b =
        bind(a, &Sig { name: "Random.weibullvariate", params: &["self", "alpha", "beta"], required: 3, kwonly: &[] })?;
    let alpha = float_arg(vm, &b[1], 1.0)?;
    let beta = float_arg(vm, &b[2], 1.0)?;
    let u = 1.0 - with_rng(&or_none(&b[0]), |mt| mt.random())?;
    if beta == 0.0 {
        return Err(Exc::zero_division("float division by zero"));
    }
    Ok(Value::Float(alpha * (-u.ln()).powf(1.0 / beta)))
}

/// An opaque snapshot of a generator (`getstate()`), restorable with `setstate()`.
pub struct SavedState {
    /// The saved generator.
    pub mt: Mt19937,
}

impl NativeObject for SavedState {
    fn type_name(&self) -> &'static str {
        "random_state_snapshot"
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn r_getstate(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let mt = with_rng(&this(a), |mt| mt.clone())?;
    Ok(Value::Other(Rc::new(SavedState { mt })))
}

fn r_setstate(_vm: &mut Vm, a: &mut Args) -> Res<Value> {
    let b = bind(a, &Sig { name: "Random.setstate", params: &["self", "state"], required: 2, kwonly: &[] })?;
    let saved = match &b[1] {
        Some(Value::Other(o)) => o.as_any().downcast_ref::<SavedState>().map(|s| s.mt.clone()),
        _ => None,
    };
    let Some(saved) = saved else {
        return Err(Exc::type_error("state vector must be a tuple"));
    };
    with_rng(&or_none(&b[0]), |mt| *mt = saved)?;
    Ok(Value::None)
}

const METHODS: &[(&str, NativeFn)] = &[
    ("seed", r_seed),
    ("random", r_random),
    ("getrandbits", r_getrandbits),
    ("randbytes", r_randbytes),
    ("randrange", r_randrange),
    ("randint", r_randint),
    ("choice", r_choice),
    ("choices", r_choices),
    ("shuffle", r_shuffle),
    ("sample", r_sample),
    ("uniform", r_uniform),
    ("triangular", r_triangular),
    ("gauss", r_gauss),
    ("normalvariate", r_normalvariate),
    ("lognormvariate", r_lognormvariate),
    ("expovariate", r_expovariate),
    ("paretovariate", r_paretovariate),
    ("weibullvariate", r_weibullvariate),
    ("getstate", r_getstate),
    ("setstate", r_setstate),
];

/// Builds the module.
pub fn init(vm: &mut Vm) -> Res<Rc<Module>> {
    let object = vm.type_class(TypeId::Object).clone();
    let mut dict = rustc_hash::FxHashMap::default();
    dict.insert(Sym::new("__module__"), Value::str("random"));
    dict.insert(
        Sym::new("__init__"),
        Value::Native(Rc::new(NativeFunction {
            fast: None,
            name: "__init__",
            func: r_init,
            receiver: None,
            owner: Some("Random"),
        })),
    );
    for (name, f) in METHODS {
        dict.insert(
            Sym::new(name),
            Value::Native(Rc::new(NativeFunction {
                fast: None,
                name,
                func: *f,
                receiver: None,
                owner: Some("Random"),
            })),
        );
    }
    let class = Rc::new(Class {
        name: Rc::from("Random"),
        qualname: RefCell::new(Rc::from("Random")),
        bases: vec![object.clone()],
        mro: vec![object],
        dict: RefCell::new(dict),
        layout: Layout::Object,
        builtin: None,
        version: Cell::new(0),
        cache: Default::default(),
        tp_name: Default::default(),
    });
    let inst = Value::Instance(Rc::new(Instance {
        class: class.clone(),
        attrs: RefCell::new(smallvec::smallvec![(state_sym(), new_state())]),
    }));
    let m = super::native_module("random", &[]);
    for (name, f) in METHODS {
        super::set(&m, name, crate::builtins::bound_native(inst.clone(), name, *f));
    }
    super::set(&m, "Random", Value::Class(class));
    super::set(&m, "_inst", inst);
    Ok(m)
}
