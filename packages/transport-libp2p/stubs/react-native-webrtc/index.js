throw new Error('react-native-webrtc is stubbed out in Flotilla: React Native is not a supported runtime')
