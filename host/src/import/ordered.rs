//! [`Ordered`]: values by key in the order Compose's definitions leave
//! them, with each look-up in constant time — a list searched at every
//! key made a service of many variables, labels or env-file lines
//! quadratic.

use std::collections::HashMap;

/// Values by key, in the order last set: setting a key again moves it
/// last, as Compose's later definition wins. Each look-up is constant
/// time, however many keys a service has.
#[derive(Debug)]
pub struct Ordered<T> {
    slots: Vec<Option<(String, T)>>,
    index: HashMap<String, usize>,
}

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered {
            slots: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T> Ordered<T> {
    /// Sets `key`, last.
    pub fn set(&mut self, key: String, value: T) {
        if let Some(old) = self.index.insert(key.clone(), self.slots.len()) {
            self.slots[old] = None;
        }
        self.slots.push(Some((key, value)));
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&T> {
        self.index
            .get(key)
            .and_then(|i| self.slots[*i].as_ref())
            .map(|(_, v)| v)
    }

    /// The value of `key`, to change.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        let i = *self.index.get(key)?;
        self.slots[i].as_mut().map(|(_, v)| v)
    }

    /// The keys and values, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.slots.iter().flatten().map(|(k, v)| (k.as_str(), v))
    }

    /// The values, in order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten().map(|(_, v)| v)
    }

    /// The values, in order, to change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut().flatten().map(|(_, v)| v)
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        self.index.len()
    }
}
